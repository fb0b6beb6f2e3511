//! Embeds the web UI: every file under `ui/` that the service serves (the dashboard, GraphiQL's
//! page, the vendored libraries and their licenses) becomes a `(path, bytes)` entry of
//! `ui_files.rs`, included by `src/http/ui.rs`. The sources of the GraphiQL bundle and the
//! script that refreshes the vendored files are not served. No Node is needed to build.
use std::path::{Path, PathBuf};

/// Folders of `ui/` that are not served.
const NOT_SERVED: [&str; 3] = ["scripts", "src", "node_modules"];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    println!("cargo:rerun-if-changed=ui");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out =
        String::from("/// Files of `ui/`, by path relative to it.\npub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in files {
        out.push_str(&format!("    ({rel:?}, include_bytes!({:?})),\n", abs.display().to_string()));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("ui_files.rs");
    std::fs::write(dest, out).expect("write ui_files.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if dir == root && NOT_SERVED.contains(&name.as_str()) {
                continue;
            }
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("under ui/").to_string_lossy().replace('\\', "/");
            files.push((rel, path));
        }
    }
}
