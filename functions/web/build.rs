//! Embeds the client `make web` built (web/dist) in the binary: a list of `(path, bytes)`.
//! Without a build the list is empty and the function says so (`make sam-build` builds the
//! client first).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn files(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, base, out);
        } else if let Ok(relative) = path.strip_prefix(base) {
            out.push((relative.to_string_lossy().replace('\\', "/"), path.clone()));
        }
    }
}

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut found = Vec::new();
    files(&dist, &dist, &mut found);
    found.sort();
    if found.is_empty() {
        println!("cargo:warning=web/dist is missing: this build serves no client (make web builds it)");
    }
    let mut code = String::from("pub static DIST: &[(&str, &[u8])] = &[\n");
    for (name, path) in found {
        writeln!(code, "    ({name:?}, include_bytes!({:?})),", path.display().to_string()).unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("dist.rs");
    std::fs::write(out, code).unwrap();
}
