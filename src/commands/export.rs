//! `gruf export`: the model's forecaster as one ONNX file ([`crate::export`]).

use crate::checkpoint::Checkpoint;
use crate::cli::{ExportArgs, ExportFormat};
use crate::error::GrufError;
use crate::export::{self, Options};
use crate::io::output::{check_writable, print, write_atomic};

use super::{device, note, wrote};

pub(super) fn run(args: ExportArgs) -> anyhow::Result<()> {
    let ExportFormat::Onnx = args.format;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.model.with_extension("onnx"));
    if same_file(&out, &args.model) {
        return Err(GrufError::usage(format!(
            "--out {} is the model file itself; choose another path, e.g. --out {}",
            out.display(),
            args.model.with_extension("onnx").display()
        ))
        .into());
    }
    // A file of the user's is never replaced by mistake (`--out prices.csv`): an ONNX
    // file is named .onnx, and re-exporting replaces only such a file.
    if out
        .extension()
        .is_none_or(|e| !e.eq_ignore_ascii_case("onnx"))
    {
        return Err(GrufError::usage(format!(
            "--out {}: an ONNX file's name ends in .onnx; choose e.g. --out {}",
            out.display(),
            out.with_extension("onnx").display()
        ))
        .into());
    }
    check_writable(&out)?;
    let stored = Checkpoint::load(&args.model, &device())?;
    let exported = export::onnx(
        &stored,
        &Options {
            levels: args.interval.clone(),
        },
    )?;
    if let Some(why) = &exported.no_intervals {
        note(&format!("the file has no intervals output: {why}"));
    }
    if exported.contract.covariates.is_empty() {
        note(&format!(
            "the graph forecasts {} step{} from one origin; for more, append the forecast to `history` and run it again (docs/export.md shows the loop)",
            exported.contract.horizon,
            if exported.contract.horizon == 1 { "" } else { "s" }
        ));
    }
    write_atomic(&out, &exported.bytes)?;
    wrote(&out.display().to_string());
    print(format!("{}\n", exported.contract.describe()).as_bytes())
}

/// True when `a` and `b` name the same file (or the same path, when neither exists).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
