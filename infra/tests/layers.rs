//! The crates' dependencies read as layers: the domain at the bottom, the adapters above
//! it, the use cases above them, the HTTP API above those, the functions on top. A crate
//! may depend only on crates of lower layers, so a use case never reaches for axum and an
//! adapter never calls a use case.

use std::collections::BTreeMap;
use std::path::Path;

/// Each workspace crate of the product (not the harnesses) and its layer.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("store", 1),
    ("queue", 1),
    ("files", 1),
    ("directory", 1),
    ("checkpoints", 1),
    ("channels", 1),
    ("search", 1),
    ("app", 2),
    ("api", 3),
];
/// Every function is a thin top layer over `api` or `app`.
const FUNCTIONS: u8 = 4;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root")
}

/// The workspace crates a manifest's `[dependencies]` names (`name.workspace = true`).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut found = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if let (true, Some(name)) = (in_dependencies, line.strip_suffix(".workspace = true")) {
            found.push(name.to_owned());
        }
    }
    found
}

fn manifests() -> BTreeMap<String, (u8, String)> {
    let mut crates = BTreeMap::new();
    for (name, layer) in LAYERS {
        let path = workspace().join("shared").join(name).join("Cargo.toml");
        crates.insert((*name).to_owned(), (*layer, std::fs::read_to_string(path).expect("manifest")));
    }
    for entry in std::fs::read_dir(workspace().join("functions")).expect("functions/") {
        let dir = entry.expect("entry").path();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest");
        let name = dir.file_name().expect("name").to_string_lossy().into_owned();
        crates.insert(format!("functions/{name}"), (FUNCTIONS, manifest));
    }
    crates
}

#[test]
fn every_crate_depends_only_on_lower_layers() {
    let crates = manifests();
    let layer_of: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (name, (layer, manifest)) in &crates {
        for dep in dependencies(manifest) {
            if let Some(dep_layer) = layer_of.get(dep.as_str()).filter(|l| **l >= *layer) {
                wrong.push(format!("{name} (layer {layer}) depends on {dep} (layer {dep_layer})"));
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies against the layers: {wrong:#?}");
}

#[test]
fn every_shared_crate_has_a_layer() {
    let listed: Vec<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    for entry in std::fs::read_dir(workspace().join("shared")).expect("shared/") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(listed.contains(&name.as_str()), "shared/{name} has no layer in this test");
    }
}

#[test]
fn the_reader_of_manifests_sees_the_dependencies_it_checks() {
    // The check above would pass on a reader that finds nothing.
    let (_, api) = &manifests()["api"];
    let deps = dependencies(api);
    assert!(deps.iter().any(|d| d == "app") && deps.iter().any(|d| d == "domain"), "{deps:?}");
    assert!(!deps.iter().any(|d| d == "tower"), "dev-dependencies are not dependencies: {deps:?}");
}
