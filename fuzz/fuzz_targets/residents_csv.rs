//! The `residents.csv` of a dataset, loaded whole: any bytes either load or give
//! a located error; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

thread_local! {
    static SCRATCH: bacino_fuzz::Scratch = bacino_fuzz::Scratch::new();
}

fuzz_target!(|data: &[u8]| {
    SCRATCH.with(|s| {
        let _ = s.load_with("residents.csv", data);
    });
});
