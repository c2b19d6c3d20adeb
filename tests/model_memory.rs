//! How much memory loading a model holds, against the file's size: a
//! counting allocator around `Mlp::from_json` and `Mlp::from_safetensors`
//! (a test binary of its own, since the allocator is global). Every
//! parameter becomes a node of the graph, so a file of short numbers
//! (`0,`: two bytes a weight) costs the most per byte; MAX_PARAMETERS
//! bounds what any file can make the loader build.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use chainrule::nn::{MAX_PARAMETERS, Mlp, ModelError, Precision};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters are only read.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on as `GlobalAlloc` requires.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: a pointer this allocator gave, with its layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak bytes held while `load` runs (its result included).
fn peak<T>(load: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let result = load();
    (result, PEAK.load(Relaxed) - before)
}

/// A model of `inputs` → `width` → 1 whose weights are all written `0`.
fn zeros_json(inputs: usize, width: usize) -> String {
    let neuron = |n: usize| format!(r#"{{"bias":0,"weights":[{}]}}"#, vec!["0"; n].join(","));
    let hidden = vec![neuron(inputs); width].join(",");
    format!(
        r#"{{"format":"chainrule-mlp","version":1,"activation":"relu","sizes":[{inputs},{width},1],"layers":[[{hidden}],[{}]]}}"#,
        neuron(width)
    )
}

#[test]
fn loading_holds_a_bounded_multiple_of_the_file() {
    // About 200,000 parameters in a 400 KB file of zeros.
    let json = zeros_json(1000, 200);
    let (model, held) = peak(|| Mlp::from_json(json.as_bytes()).unwrap());
    let parameters = model.parameters().len();
    let per_byte = held as f64 / json.len() as f64;
    let per_parameter = held as f64 / parameters as f64;
    eprintln!(
        "JSON of zeros: {} bytes, {parameters} parameters, peak {held} bytes held: \
         {per_byte:.0} per byte of file, {per_parameter:.0} per parameter",
        json.len()
    );
    // The node, its `Extra` and `Names` boxes, the parsed numbers: no
    // string per parameter (labels come from positions, a neuron shares
    // one group string).
    assert!(per_parameter < 200.0, "{per_parameter} bytes per parameter");
    // The same model in safetensors (8 bytes a weight).
    let bytes = model.to_safetensors(Precision::F64).unwrap();
    drop(model);
    let (model, held) = peak(|| Mlp::from_safetensors(&bytes).unwrap());
    let per_byte = held as f64 / bytes.len() as f64;
    eprintln!(
        "safetensors: {} bytes, peak {held} bytes held: {per_byte:.0} per byte of file",
        bytes.len()
    );
    assert!(per_byte < 60.0, "{per_byte}");
    drop(model);
    // Too large to build: refused before the weights are read, holding
    // little more than the file.
    let huge = r#"{"format":"chainrule-mlp","version":1,"activation":"relu","sizes":[100000000,1],"layers":[[{"bias":0,"weights":[0,0,0]}]]}"#;
    let (result, held) = peak(|| Mlp::from_json(huge.as_bytes()));
    let error = result.unwrap_err();
    assert!(matches!(error, ModelError::Shape { .. }), "{error:?}");
    assert!(error.to_string().contains(&MAX_PARAMETERS.to_string()));
    assert!(held < 64 << 10, "{held} bytes to refuse it");
    // Forty million sizes: refused while the list is read.
    let sizes = vec!["1"; 40_000_000].join(",");
    let long = format!(
        r#"{{"format":"chainrule-mlp","version":1,"activation":"relu","sizes":[{sizes}],"layers":[]}}"#
    );
    let (result, held) = peak(|| Mlp::from_json(long.as_bytes()));
    assert!(matches!(result.unwrap_err(), ModelError::Malformed { .. }));
    assert!(
        held < 1 << 20,
        "{held} bytes to refuse a list of 40 million sizes"
    );
}
