"""Drives an explorer page in a real browser (the system's chromium, through
Playwright; nothing is downloaded) as a student would, on a 1280x800 laptop
and a 390x844 phone, and checks it against the engine.

    python browser_test.py CHROMIUM PAGE.html EXPECT.json SHOTS_DIR

EXPECT.json, written by tests/explorer.rs from the engine's own numbers:
  name        prefix of the screenshots
  steps       number of the page's last step
  forward     number of forward steps
  backward    number of backward steps
  english     whether the graph's names are English (the English sentences
              then hold no Hangul at all)
Optional parts, each checked when present:
  output      the output's value as the picture writes it ("220")
  value_class class of the texts that show values ("value"; records: "data")
  grads       {name: gradient as written}: each in some sentence
  final_grads the gradients on screen at the last backward step
  step_numbers {step: [numbers its sentence must say]}
  exercise    {"step": N, "operand": name, "right": "2.2", "wrong": "2.3",
               "right_shown": the answer as the picture shows it}
  nudge       {"input": name, "says": [numbers], "exact": bool}
  answers     {"step": N, "operand": name, "right": [typed], "wrong": [typed]}
  training    {"parameters": [names], "inputs": [names],
               "new_values": {name: "2 → 2.02"}, "output_change": "a → b",
               "down": true}
  fit         minimum share of a 1280 px window the picture takes (0.6)
  notebook    also drive the page as a notebook output
Prints what it checked and how long it took; exits 1 on the first failure.
"""

import json
import os
import re
import sys
import time

from playwright.sync_api import sync_playwright

HANGUL = re.compile("[\uac00-\ud7a3]")
ENGINE_ID = re.compile(r"\bv\d+\b")
# ∂name or ∂(a name with spaces or a group/path)
NAMED = re.compile(r"\u2202\(([^)]*)\)|\u2202([^\s/=;,()\u00b7]+)")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def main():
    chromium, page_path, expect_path, shots = sys.argv[1:5]
    expect = json.load(open(expect_path, encoding="utf-8"))
    url = "file://" + os.path.abspath(page_path)
    name = expect.get("name", "explorer")
    start = time.monotonic()
    checks = 0

    def check(condition, message):
        nonlocal checks
        if not condition:
            raise AssertionError(f"{name}: {message}")
        checks += 1

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        requests, errors = [], []

        def open_page(viewport, touch=False):
            context = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            return page

        def counter(page):
            return page.locator("#step-counter").inner_text()

        def sentence(page):
            return page.locator("#step-text").inner_text()

        def visible_texts(page, cls):
            return page.evaluate(
                """cls => Array.from(document.querySelectorAll('svg .' + cls))
                    .filter(t => getComputedStyle(t).visibility !== 'hidden')
                    .map(t => t.textContent)""",
                cls,
            )

        def picture_texts(page):
            return page.evaluate(
                """() => Array.from(document.querySelectorAll('svg text'))
                    .map(t => t.textContent)"""
            )

        last, forward, backward = expect["steps"], expect["forward"], expect["backward"]
        value_class = expect.get("value_class", "value")

        def names_are_in_the_picture(page, text, k):
            shown = set(picture_texts(page))
            for match in NAMED.finditer(text):
                named = (match.group(1) or match.group(2)).split("/")[-1]
                if named in ("each term",):
                    continue
                check(named in shown, f"step {k}: {named!r} is named but not in the picture: {text!r}")
            check(not ENGINE_ID.search(text), f"step {k}: an engine id in {text!r}")

        def active_in_frame(page, k):
            box = page.evaluate(
                """() => {
                    const f = document.querySelector('.cr-picture').getBoundingClientRect();
                    const a = document.querySelector('svg g.node.active');
                    if (!a) { return null; }
                    const r = a.getBoundingClientRect();
                    return [r.left - f.left, f.right - r.right, r.top - f.top, f.bottom - r.bottom];
                }"""
            )
            if box is not None:
                check(min(box) >= -1, f"step {k}: the highlighted node is outside the frame {box}")

        # --- On a laptop: opening, every step, names, follow, fit. ---
        page = open_page(LAPTOP)
        page.goto(url)
        check(f"step 0 of {last}" in counter(page), f"opens at step 0: {counter(page)!r}")
        check(visible_texts(page, "grad") == [], "no gradient before backward")
        if "fit" in expect:
            width = page.evaluate("document.querySelector('.cr-picture svg').getBoundingClientRect().width")
            check(width >= expect["fit"] * LAPTOP["width"], f"the picture is {width:.0f} px wide at 1280")
        check("\u2192" in page.locator(".cr-hint").inner_text(), "a laptop is told about the → key")
        sentences = [sentence(page)]
        for k in range(1, last + 1):
            page.keyboard.press("ArrowRight")
            check(f"step {k} of {last}" in counter(page), f"→ to step {k}: {counter(page)!r}")
            text = sentence(page)
            sentences.append(text)
            names_are_in_the_picture(page, text, k)
            active_in_frame(page, k)
            if k <= forward:
                check("\uc21c\uc804\ud30c" in text, f"step {k} is a forward step in Korean: {text!r}")
                check(visible_texts(page, "grad") == [], f"step {k}: gradients before backward")
            elif k <= forward + backward:
                check("\ub178\ub4dc" in text, f"step {k} names the gate in Korean: {text!r}")
            for english in ("forward", "backward", " gate", "passes", "swaps"):
                check(english not in text.lower(), f"step {k}: English {english!r} in a Korean sentence {text!r}")
            if k == forward and "output" in expect:
                check(expect["output"] in text, f"the forward pass ends at {expect['output']}: {text!r}")
                check(any(v.endswith(" " + expect["output"]) or v == expect["output"]
                          for v in visible_texts(page, value_class)), "output value on screen")
            if k == forward + 1:
                check("\uc5ed\uc804\ud30c \uc2dc\uc791" in text, f"backward starts: {text!r}")
            if k == forward + backward and "final_grads" in expect:
                check(
                    sorted(visible_texts(page, "grad")) == sorted(expect["final_grads"]),
                    f"final gradients {visible_texts(page, 'grad')} != {expect['final_grads']}",
                )
        everything = " ".join(sentences)
        for label, grad in expect.get("grads", {}).items():
            check(grad in everything, f"{label}'s gradient {grad} is in no sentence")
            check(label in everything, f"{label} is named in no sentence")
        for k, numbers in expect.get("step_numbers", {}).items():
            for number in numbers:
                check(number in sentences[int(k)], f"step {k} says {number}: {sentences[int(k)]!r}")
        page.keyboard.press("ArrowLeft")
        check(f"step {last - 1} of {last}" in counter(page), "← steps back")
        page.keyboard.press("Home")
        check(f"step 0 of {last}" in counter(page), "Home")
        page.keyboard.press("End")
        check(f"step {last} of {last}" in counter(page), "End")

        # Buttons, the slider, play.
        page.click(".cr-first")
        check(f"step 0 of {last}" in counter(page), "first")
        page.click(".cr-next")
        check(f"step 1 of {last}" in counter(page), "next")
        page.click(".cr-prev")
        check(f"step 0 of {last}" in counter(page), "prev")
        page.click(".cr-last")
        check(f"step {last} of {last}" in counter(page), "last")
        page.locator(".cr-slider").fill(str(forward))
        check(f"step {forward} of {last}" in counter(page), "the slider")
        if last <= 30:
            page.select_option(".cr-speed", "400")
            page.click(".cr-first")
            page.click(".cr-play")
            page.wait_for_function(
                f"document.getElementById('step-counter').textContent.includes('step {last} of {last}')",
                timeout=20000,
            )
            check(True, "play reaches the end")

        # #step=N, #step=end, and exercise mode's opening.
        page.goto(f"{url}#step=2")
        check(f"step 2 of {last}" in counter(page), f"#step=2 opens at 2: {counter(page)!r}")
        page.goto(f"{url}#step=end")
        check(f"step {last} of {last}" in counter(page), "#step=end")
        if backward > 0:
            page.goto("about:blank")
            page.goto(f"{url}#mode=exercise")
            check(f"step {forward + 1} of {last}" in counter(page),
                  f"exercise mode opens at the first question: {counter(page)!r}")

        # One language at a time, switched on the page.
        page.goto(f"{url}#step={forward + 1}")
        page.click(".cr-lang")
        english = sentence(page)
        check("Backward starts" in english, f"English after the switch: {english!r}")
        if expect.get("english"):
            check(not HANGUL.search(english), f"Hangul in an English sentence: {english!r}")
        check(page.evaluate("document.querySelector('.chainrule-explorer').lang") == "en", "lang=en")
        page.click(".cr-lang")
        check("\uc5ed\uc804\ud30c" in sentence(page), "back to Korean")

        # Screenshots at the laptop's size.
        for k in (0, forward + 1, last):
            page.goto(f"{url}#step={k}")
            page.screenshot(path=os.path.join(shots, f"{name}-1280-step{k}.png"))

        # Exercise mode: the gradient hidden until typed.
        ex = expect.get("exercise")
        if ex:
            page.goto(f"{url}#step={ex['step']}&mode=exercise")
            check(page.locator(".cr-mode").get_attribute("aria-pressed") == "true", "exercise mode on")
            answer = page.locator(f"input[aria-label*='{ex['operand']}']")
            check(answer.count() == 1, f"one answer box for {ex['operand']}")
            right_shown = ex.get("right_shown", ex["right"])
            check(right_shown not in visible_texts(page, "grad"), "the answer is hidden")
            answer.fill(ex["wrong"])
            page.click(".cr-check")
            feedback = page.locator("#feedback").inner_text()
            check("\ud2c0\ub838" in feedback and ex["wrong"] in feedback, f"{ex['wrong']} rejected: {feedback!r}")
            check("\ub178\ub4dc" in feedback, f"the rule is named: {feedback!r}")
            answer.fill(ex["right"])
            page.click(".cr-check")
            feedback = page.locator("#feedback").inner_text()
            check("\ub9de\uc558" in feedback and ex["right"] in feedback, f"{ex['right']} accepted: {feedback!r}")
            page.screenshot(path=os.path.join(shots, f"{name}-1280-exercise.png"), full_page=True)
            page.click(".cr-show")
            check(right_shown in visible_texts(page, "grad"), "show reveals the gradients")

        # Typed answers, one at a time: numbers and inf, ∞, NaN.
        answers = expect.get("answers")
        if answers:
            for typed, right in [(t, True) for t in answers["right"]] + [(t, False) for t in answers["wrong"]]:
                page.goto("about:blank")
                page.goto(f"{url}#step={answers['step']}&mode=exercise")
                page.locator(f"input[aria-label*='{answers['operand']}']").fill(typed)
                page.click(".cr-check")
                feedback = page.locator("#feedback").inner_text()
                said_right = "\ub9de\uc558" in feedback or "right" in feedback
                check(said_right == right, f"{typed!r} is marked {'right' if said_right else 'wrong'}: {feedback!r}")

        # The nudge: click an input, see the output move, beside the gradient.
        nudge = expect.get("nudge")
        if nudge:
            page.goto(f"{url}#step=end")
            page.click(".cr-lang")
            page.locator(f"svg g.node.nudgeable:has(title:text-matches('^{re.escape(nudge['input'])} '))").first.click()
            said = page.locator("#nudge").inner_text()
            for number in nudge["says"]:
                check(number in said, f"the nudge says {number}: {said!r}")
            verdict = "exact" if nudge["exact"] else "linear approximation"
            check(verdict in said, f"the nudge says {verdict!r}: {said!r}")
            page.screenshot(path=os.path.join(shots, f"{name}-1280-nudge.png"))

        # A whole training step: only the parameters change, the picture
        # shows old → new, and the forward pass after it.
        training = expect.get("training")
        if training:
            updates = [sentences[k] for k in range(forward + backward + 1, last)]
            check(len(updates) == len(training["parameters"]), f"one update per parameter: {updates}")
            for parameter in training["parameters"]:
                check(any(f"{parameter} \u2190" in u for u in updates), f"{parameter} is updated")
            for x in training["inputs"]:
                check(not any(f"{x} \u2190" in u for u in updates), f"the input {x} is updated")
            page.goto(f"{url}#step={last - 1}")
            values = visible_texts(page, value_class)
            for parameter, shown in training["new_values"].items():
                check(any(shown in v for v in values), f"{parameter} shows {shown}: {values}")
            page.goto(f"{url}#step=end")
            final = sentence(page)
            check(training["output_change"] in final, f"the next forward pass: {final!r}")
            went_down = "\uc904\uc5c8" in final or "down by" in final
            check(went_down == training["down"], f"the loss goes down: {final!r}")
            check(any(training["output_change"] in v for v in visible_texts(page, value_class)),
                  "the picture shows the output's change")
            check(visible_texts(page, "grad") == [], "stale gradients are hidden after the update")
        page.context.close()

        # --- On a phone: sizes, follow, touch words. ---
        page = open_page(PHONE, touch=True)
        page.goto(url)
        check("\u2192" not in page.locator(".cr-hint").inner_text(), "a phone is told to tap, not press →")
        small = page.evaluate(
            """() => {
                const svg = document.querySelector('.cr-picture svg');
                const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
                return Math.min(...Array.from(svg.querySelectorAll('text')).map(
                    t => parseFloat(getComputedStyle(t).fontSize) * scale));
            }"""
        )
        check(small >= 8.95, f"the smallest text on a phone is {small:.1f} px")
        buttons = page.evaluate(
            """() => Array.from(document.querySelectorAll('.cr-controls button'))
                .map(b => Math.min(b.getBoundingClientRect().width, b.getBoundingClientRect().height))"""
        )
        check(min(buttons) >= 44, f"tap targets {buttons}")
        for k in range(1, last + 1):
            page.click(".cr-next")
            active_in_frame(page, k)
        page.goto(f"{url}#step={forward + backward}")
        page.screenshot(path=os.path.join(shots, f"{name}-390-step{forward + backward}.png"))
        page.goto(f"{url}#step=0")
        page.screenshot(path=os.path.join(shots, f"{name}-390-step0.png"))
        page.context.close()

        # --- Inside a notebook's output (not a page of its own): the
        # page's keys, URL and scroll position stay the notebook's; the
        # explorer's own controls and, once it has the focus, its keys
        # work. ---
        if expect.get("notebook"):
            inner = open(page_path, encoding="utf-8").read()
            body = inner[inner.index("<body>") + len("<body>"):inner.rindex("</body>")]
            notebook = os.path.join(shots, f"{name}-as-notebook-output.html")
            with open(notebook, "w", encoding="utf-8") as out:
                out.write("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                          "<div class='jp-OutputArea'><p>a cell</p>" + body +
                          "<div style='height:2000px'>more cells</div></div></body></html>")
            page = open_page(LAPTOP)
            page.goto("file://" + notebook + "#cell-7")
            check(f"step 0 of {last}" in counter(page), "a notebook output opens at step 0")
            for k in range(1, last + 1):
                page.click(".cr-next")
                active_in_frame(page, k)
            check(page.evaluate("window.scrollY") == 0, "stepping never scrolls the notebook page")
            page.click(".cr-first")
            page.locator("p").first.click()
            page.keyboard.press("ArrowRight")
            check(f"step 0 of {last}" in counter(page), "the notebook's keys are not taken")
            check(page.evaluate("window.location.hash") == "#cell-7", "the notebook's URL is left alone")
            page.click(".cr-first")
            page.focus(".chainrule-explorer")
            page.keyboard.press("ArrowRight")
            check(f"step 1 of {last}" in counter(page), "keys work once the explorer has the focus")
            page.context.close()

        browser.close()

    local = [r for r in requests if not r.startswith("file://") and r != "about:blank"]
    check(local == [], f"the page fetched {local}")
    check(errors == [], f"script errors: {errors}")
    print(f"ok: {checks} checks in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
