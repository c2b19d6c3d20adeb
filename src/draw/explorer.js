(function () {
  "use strict";
  var root = document.getElementById("ROOT_ID");
  if (!root || root.dataset.ready) { return; }
  root.dataset.ready = "1";
  var data = JSON.parse(root.querySelector("script.cr-data").textContent);
  var steps = data.steps, last = steps.length - 1;
  var svg = root.querySelector("svg");
  var frame = root.querySelector(".cr-picture");
  function q(sel) { return root.querySelector(sel); }
  // Elements by id, looked up once: ids repeat across explorers in one
  // notebook page, so the search stays inside this picture.
  var found = {};
  svg.querySelectorAll("[id]").forEach(function (el) {
    if (!(el.id in found)) { found[el.id] = el; }
  });
  function byId(id) { return found[id] || null; }
  function texts(el, cls) {
    var e = byId(el);
    return e ? Array.prototype.slice.call(e.querySelectorAll("." + cls)) : [];
  }
  // Each reveal's and change's texts, looked up once; a change remembers
  // the text it replaces.
  data.reveal.forEach(function (r) { r.texts = texts(r.el, r.cls); });
  var original = new Map();
  data.changes.forEach(function (c) {
    c.texts = texts(c.el, c.cls);
    c.texts.forEach(function (t) { if (!original.has(t)) { original.set(t, t.textContent); } });
  });
  var allGrads = Array.prototype.slice.call(svg.querySelectorAll(".grad"));
  var touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  var state = { step: 0, exercise: false, timer: null, solved: {}, lang: data.lang === "en" ? 1 : 0 };
  var active = [];
  var slider = q(".cr-slider"), counter = q(".cr-counter"), text = q(".cr-text"), hint = q(".cr-hint");
  var exercise = q(".cr-exercise"), questions = q(".cr-questions"), feedback = q(".cr-feedback");
  var mode = q(".cr-mode"), play = q(".cr-play"), langButton = q(".cr-lang"), nudge = q(".cr-nudge");
  q(".cr-controls").hidden = false;
  // A page of its own: the URL's #step=N and the keys anywhere. In a
  // notebook the URL is the notebook's, and keys count only when the
  // explorer has the focus.
  var standalone = root.parentElement === document.body;
  // The page's own words, [한국어, English].
  var words = {
    start: ["시작", "start"],
    forward: ["순전파", "forward"],
    backward: ["역전파", "backward"],
    update: ["경사 하강법", "update"],
    again: ["다시 순전파", "forward again"],
    right: ["\u2713 맞았습니다", "\u2713 right"],
    wrong: ["\u2717 틀렸습니다", "\u2717 wrong"],
    isNot: ["은(는) 다음 값이 아닙니다:", "is not"],
    typeFirst: ["미분값을 입력한 뒤 확인을 누르세요.", "Type a number for a gradient, then check."],
    shown: ["정답", "Shown"],
    hintKeys: ["\u2192 키(또는 다음 \u25B6)를 누르면 순전파가 시작됩니다. 입력을 클릭하면 그 입력을 올렸을 때 출력이 어떻게 바뀌는지 보입니다.",
               "Press \u2192 (or next \u25B6) to run the forward pass. Click an input to see what raising it does to the output."],
    hintTouch: ["다음 \u25B6을 누르면 순전파가 시작됩니다. 입력을 누르면 그 입력을 올렸을 때 출력이 어떻게 바뀌는지 보입니다.",
                "Tap next \u25B6 to run the forward pass. Tap an input to see what raising it does to the output."],
    play: ["재생", "play"],
    pause: ["일시 정지", "pause"]
  };
  function say(key) { return words[key][state.lang]; }

  function phase(s) {
    var f = data.forward, b = data.backward, u = data.update;
    if (s === 0) { return say("start"); }
    if (s <= f) { return say("forward") + " " + s + "/" + f; }
    if (s <= f + b) { return say("backward") + " " + (s - f) + "/" + b; }
    if (s <= f + b + u) { return say("update") + " " + (s - f - b) + "/" + u; }
    return say("again");
  }
  function hidden(s) {
    return state.exercise && steps[s].kind === "backward" && steps[s].questions.length > 0 && !state.solved[s];
  }
  // Brings the highlighted node into view inside the picture's frame
  // (never scrolls the page around it).
  function follow() {
    var el = active[0];
    if (!el || !frame.getBoundingClientRect) { return; }
    var f = frame.getBoundingClientRect(), r = el.getBoundingClientRect();
    if (r.left < f.left || r.right > f.right) {
      frame.scrollLeft += (r.left + r.right) / 2 - (f.left + f.right) / 2;
    }
    if (r.top < f.top || r.bottom > f.bottom) {
      frame.scrollTop += (r.top + r.bottom) / 2 - (f.top + f.bottom) / 2;
    }
  }
  function render() {
    var s = state.step, step = steps[s];
    var stale = data.stale !== null && s >= data.stale;
    data.reveal.forEach(function (r) {
      var show = s >= r.at && !(r.cls === "grad" && r.at === s && hidden(s));
      r.texts.forEach(function (t) { t.style.visibility = show ? "" : "hidden"; });
    });
    if (stale) { allGrads.forEach(function (t) { t.style.visibility = "hidden"; }); }
    original.forEach(function (was, t) { t.textContent = was; });
    data.changes.forEach(function (c) {
      if (s >= c.at) { c.texts.forEach(function (t) { t.textContent = c.text; }); }
    });
    active.forEach(function (e) { e.classList.remove("active"); });
    active = [];
    step.elements.concat(step.edges).forEach(function (id) {
      var el = byId(id);
      if (el) { el.classList.add("active"); active.push(el); }
    });
    text.textContent = (hidden(s) ? step.ask : step.text)[state.lang];
    hint.textContent = s === 0 ? say(touch ? "hintTouch" : "hintKeys") : "";
    counter.textContent = "step " + s + " of " + last + " \u00B7 " + phase(s);
    slider.value = String(s);
    if (hidden(s)) { ask(step); } else { exercise.hidden = true; }
    follow();
    var hash = "#step=" + (s === last ? "end" : s) + (state.exercise ? "&mode=exercise" : "");
    if (standalone && window.location.hash !== hash && window.history && window.history.replaceState) {
      try { window.history.replaceState(null, "", hash); } catch (e) { /* file: pages may refuse */ }
    }
  }
  function ask(step) {
    exercise.hidden = false;
    feedback.textContent = "";
    feedback.className = "cr-feedback";
    questions.innerHTML = "";
    step.questions.forEach(function (question, k) {
      var label = document.createElement("label");
      label.textContent = question.prompt + " = ";
      var input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.className = "cr-answer";
      input.id = "answer-" + k;
      input.setAttribute("aria-label", question.prompt);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); check(); }
      });
      label.appendChild(input);
      questions.appendChild(label);
    });
  }
  // A typed number: also inf, -inf, ∞, Infinity and NaN.
  function parse(raw) {
    var t = raw.replace(/\s+/g, "").replace(/\u2212/g, "-").toLowerCase();
    var sign = 1;
    if (t[0] === "-" || t[0] === "+") { sign = t[0] === "-" ? -1 : 1; t = t.slice(1); }
    if (t === "inf" || t === "infinity" || t === "\u221E") { return sign * Infinity; }
    if (t === "nan") { return NaN; }
    if (t === "") { return NaN; }
    var x = Number(t);
    return isNaN(x) ? undefined : sign * x;
  }
  function close(x, answer) {
    if (x === undefined) { return false; }
    if (answer === "NaN") { return isNaN(x); }
    if (answer === "inf") { return x === Infinity; }
    if (answer === "-inf") { return x === -Infinity; }
    if (!isFinite(x)) { return false; }
    return Math.abs(x - answer) <= 1e-3 * Math.max(Math.abs(answer), 1e-12) || x === answer;
  }
  function check() {
    var s = state.step, step = steps[s], inputs = questions.querySelectorAll("input");
    var said = [], right = 0, typed = 0;
    step.questions.forEach(function (question, k) {
      var input = inputs[k], raw = input.value.trim(), label = input.parentElement;
      label.classList.remove("right", "wrong");
      if (raw === "") { return; }
      typed += 1;
      if (close(parse(raw), question.answer)) {
        right += 1;
        label.classList.add("right");
        said.push(say("right") + ": " + question.prompt + " = " + raw);
      } else {
        label.classList.add("wrong");
        said.push(say("wrong") + ": " + question.prompt + " " + say("isNot") + " " + raw + " (" + question.hint[state.lang].replace(/= [^=]*$/, "= ?") + ")");
      }
    });
    if (typed === 0) {
      feedback.textContent = say("typeFirst");
      feedback.className = "cr-feedback";
      return;
    }
    feedback.textContent = said.join("; ");
    feedback.className = "cr-feedback " + (right === typed ? "right" : "wrong");
    if (right === step.questions.length) {
      state.solved[s] = true;
      render();
      exercise.hidden = false;
      questions.innerHTML = "";
      feedback.textContent = said.join("; ") + ". " + step.text[state.lang];
      feedback.className = "cr-feedback right";
    }
  }
  function show() {
    var s = state.step;
    state.solved[s] = true;
    render();
    feedback.textContent = say("shown") + ": " + steps[s].questions.map(function (x) { return x.hint[state.lang]; }).join("; ");
    feedback.className = "cr-feedback";
    exercise.hidden = false;
    questions.innerHTML = "";
  }
  function go(s) {
    state.step = Math.max(0, Math.min(last, s));
    render();
  }
  function stop() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    play.textContent = "\u25B6";
    play.setAttribute("aria-label", "play");
  }
  function toggle() {
    if (state.timer) { stop(); return; }
    if (state.step === last) { go(0); }
    play.textContent = "\u2016";
    play.setAttribute("aria-label", "pause");
    state.timer = setInterval(function () {
      if (state.step >= last || hidden(state.step)) { stop(); return; }
      go(state.step + 1);
      if (state.step >= last) { stop(); }
    }, Number(q(".cr-speed").value));
  }
  function setMode(on) {
    state.exercise = on;
    mode.setAttribute("aria-pressed", on ? "true" : "false");
    render();
  }
  function setLang(k) {
    state.lang = k;
    root.setAttribute("lang", k === 0 ? "ko" : "en");
    if (standalone) { document.documentElement.setAttribute("lang", k === 0 ? "ko" : "en"); }
    langButton.textContent = k === 0 ? "English" : "\uD55C\uAD6D\uC5B4";
    root.querySelectorAll(".cr-word").forEach(function (w) {
      w.textContent = k === 0 ? w.dataset.ko : w.dataset.en;
    });
    nudge.textContent = "";
    render();
  }
  q(".cr-first").addEventListener("click", function () { stop(); go(0); });
  q(".cr-prev").addEventListener("click", function () { stop(); go(state.step - 1); });
  q(".cr-next").addEventListener("click", function () { stop(); go(state.step + 1); });
  q(".cr-last").addEventListener("click", function () { stop(); go(last); });
  play.addEventListener("click", toggle);
  slider.addEventListener("input", function () { stop(); go(Number(slider.value)); });
  mode.addEventListener("click", function () {
    var on = !state.exercise;
    // Exercise mode starts at the first question.
    if (on && state.step <= data.forward) { state.step = data.forward + 1; }
    setMode(on);
  });
  langButton.addEventListener("click", function () { setLang(1 - state.lang); });
  q(".cr-check").addEventListener("click", check);
  q(".cr-show").addEventListener("click", show);
  function key(e) {
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") { return; }
    if (e.key === "ArrowRight") { stop(); go(state.step + 1); }
    else if (e.key === "ArrowLeft") { stop(); go(state.step - 1); }
    else if (e.key === "Home") { stop(); go(0); }
    else if (e.key === "End") { stop(); go(last); }
    else if (e.key === " " || e.key === "Spacebar") { if (t === "BUTTON" || (e.target.classList && e.target.classList.contains("node"))) { return; } toggle(); }
    else { return; }
    e.preventDefault();
  }
  if (standalone) { document.addEventListener("keydown", key); }
  else { root.addEventListener("keydown", key); }
  // Hover or focus: a node's tooltip. Click, tap, Enter or space on an
  // input: what raising it does to the output.
  var info = q(".cr-info");
  var nudges = {};
  data.nudges.forEach(function (pair) { nudges[pair[0]] = pair[1]; });
  svg.querySelectorAll("g.node").forEach(function (g) {
    g.setAttribute("tabindex", "0");
    var title = g.querySelector("title");
    var tell = function () { info.textContent = title ? title.textContent : ""; };
    g.addEventListener("mouseenter", tell);
    g.addEventListener("focus", tell);
    if (nudges[g.id]) {
      g.classList.add("nudgeable");
      g.setAttribute("role", "button");
      var show = function () { nudge.textContent = nudges[g.id][state.lang]; };
      g.addEventListener("click", show);
      g.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); e.stopPropagation(); show(); }
      });
    }
  });
  // The step and mode the URL asks for: no fragment is step 0 (the
  // inputs), exercise mode alone its first question.
  function fromHash() {
    var h = window.location.hash.replace(/^#/, ""), s = null, ex = false;
    h.split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv[0] === "step") { s = kv[1] === "end" ? last : parseInt(kv[1], 10); }
      if (kv[0] === "mode") { ex = kv[1] === "exercise"; }
    });
    if (s === null || isNaN(s)) { s = ex ? Math.min(last, data.forward + 1) : 0; }
    state.step = Math.max(0, Math.min(last, s));
    state.exercise = ex;
    mode.setAttribute("aria-pressed", ex ? "true" : "false");
  }
  if (standalone) {
    fromHash();
    window.addEventListener("hashchange", function () { stop(); fromHash(); render(); });
  }
  setLang(state.lang);
})();
