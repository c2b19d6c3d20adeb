//! The model loaders on arbitrary bytes: `Mlp::from_json` and
//! `Mlp::from_safetensors` must each return a model or a typed error,
//! never panic, and never allocate more than a small multiple of their
//! input (every parameter becomes a node, so some multiple is unavoidable;
//! the bound below is 128 bytes of memory per byte of input, building the
//! model included). A model
//! either accepts must save and load back bit for bit, in its own format.
//!
//!     cargo +nightly fuzz run model corpus/model seeds/model -- -runs=10000000
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use chainrule::nn::{Mlp, Precision};
use libfuzzer_sys::fuzz_target;

/// Counts the bytes the Rust side holds, and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters are only read.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes of memory allowed per byte of input, and a fixed allowance: a
/// file of zero weights (`0,`: two bytes a parameter) builds about 192
/// bytes a parameter, about 95 per byte (`tests/model_memory.rs`).
const PER_BYTE: usize = 128;
const FIXED: usize = 64 << 10;

/// Runs one loader under the allocation bound.
fn bounded(data: &[u8], load: fn(&[u8]) -> Option<Mlp>) -> Option<Mlp> {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let result = load(data);
    let used = PEAK.load(Relaxed).saturating_sub(before);
    assert!(
        used <= PER_BYTE * data.len() + FIXED,
        "{used} bytes allocated for {} bytes of input",
        data.len()
    );
    result
}

fn same(a: &Mlp, b: &Mlp) {
    assert_eq!(a.sizes(), b.sizes());
    assert_eq!(a.activation(), b.activation());
    let bits = |m: &Mlp| -> Vec<u64> { m.parameters().iter().map(|p| p.data().to_bits()).collect() };
    assert_eq!(bits(a), bits(b));
}

fuzz_target!(|data: &[u8]| {
    if let Some(mlp) = bounded(data, |d| Mlp::from_json(d).ok()) {
        // Every parameter read is finite, so the model saves; and reads
        // back as the same model, bit for bit.
        let json = mlp.to_json().expect("a loaded model saves");
        let back = Mlp::from_json(json.as_bytes()).expect("a saved model loads");
        same(&back, &mlp);
    }
    if let Some(mlp) = bounded(data, |d| Mlp::from_safetensors(d).ok()) {
        let bytes = mlp.to_safetensors(Precision::F64).expect("a loaded model saves");
        let back = Mlp::from_safetensors(&bytes).expect("a saved model loads");
        same(&back, &mlp);
    }
});
