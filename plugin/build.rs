//! Link options of the plugin binary.
//!
//! Windows (MinGW): sections page-aligned in the file (`--file-alignment 4096`, the default being
//! 512). A loader can then map the DLL's pages from the file as they are touched, instead of
//! reading the whole image (34 MB of built-in models, plus debug info in debug builds) at load
//! time: Wine does the latter for unaligned images, which made a scan take 180 ms instead of
//! under clap-validator's 100 ms.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-windows-gnu") {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--file-alignment=4096");
    }
}
