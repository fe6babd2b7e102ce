//! The residents of a dataset as a GeoParquet or a GeoPackage file (the
//! first byte picks which; the rest is the file), loaded whole in chunks:
//! any bytes either load or give an error naming the file; nothing panics
//! out of the loader (the Parquet decoder's own asserts on corrupt pages
//! are caught by it and reported as a corrupt file).
#![no_main]

use libfuzzer_sys::fuzz_target;

thread_local! {
    static PARQUET: bacino_fuzz::Scratch = bacino_fuzz::Scratch::with_residents("residents.parquet");
    static GPKG: bacino_fuzz::Scratch = bacino_fuzz::Scratch::with_residents("residents.gpkg");
}

fuzz_target!(|data: &[u8]| {
    bacino_fuzz::let_decoder_panics_unwind();
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        PARQUET.with(|s| {
            let _ = s.load_with("residents.parquet", file);
        });
    } else {
        GPKG.with(|s| {
            let _ = s.load_with("residents.gpkg", file);
        });
    }
});
