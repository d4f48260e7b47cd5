//! The "Changes since the previous report" section of a published report: the same
//! content as `repro diff` between the previously published report of the same
//! configuration and profile and this one, with each changed figure's old and new images
//! side by side.
//!
//! Why at publication and not in the report unit: what the previous report was depends on
//! the history of this cache, not on the unit's key, and a cached entry must be decided by
//! its key alone. So the report's templates hold a placeholder between two markers, and
//! publishing (`repro run`) replaces it in the published copy (`report/out`); the cache
//! entry keeps the placeholder.

use super::diff::{diff, DiffError, ReportDiff};
use base64::Engine as _;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The markers around the section's body in `report.html` and `report.md`.
pub const BEGIN: &str = "<!-- repro:changes:begin -->";
pub const END: &str = "<!-- repro:changes:end -->";

/// Most metric rows shown; `repro diff` lists them all.
const METRIC_ROWS: usize = 30;

/// What the published report is compared with.
pub enum Previous<'a> {
    /// The first report of this configuration and profile in this cache.
    None,
    /// The previous report's entry was removed from the cache (by `gc`).
    Gone { label: &'a str },
    /// The previous report's entry folder.
    At { dir: &'a Path, label: &'a str },
}

/// Fills the changes section of the report published at `published` (which holds
/// `report.html` and/or `report.md`, `results/` and `figures/`). Each file is rewritten
/// whole through a temporary file and a rename.
pub fn fill(published: &Path, previous: Previous, tolerance: f64) -> Result<(), DiffError> {
    let (html, md) = match previous {
        Previous::None => {
            let text = "This is the first report of this configuration and profile in this cache: there is nothing to compare it with.";
            (format!("<p>{text}</p>"), text.to_string())
        }
        Previous::Gone { label } => {
            let text = format!(
                "The previous report ({label}) is no longer in the cache (`gc` keeps the last `[project] keep_published`), so it cannot be compared."
            );
            (format!("<p>{}</p>", escape(&text)), text)
        }
        Previous::At { dir, label } => {
            let d = diff(dir, published, tolerance)?;
            (
                html_body(
                    &d,
                    dir,
                    published,
                    &format!("the previous report of this configuration and profile ({label})"),
                )?,
                md_body(&d, label),
            )
        }
    };
    for (file, body) in [("report.html", html), ("report.md", md)] {
        let path = published.join(file);
        if path.exists() {
            replace_between_markers(&path, &body)?;
        }
    }
    Ok(())
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DiffError + '_ {
    move |source| DiffError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// Replaces the text between [`BEGIN`] and [`END`] in `path`; a file without them is an
/// error (its template lacks the section).
fn replace_between_markers(path: &Path, body: &str) -> Result<(), DiffError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Err(DiffError::Format {
            path: path.to_path_buf(),
            message: format!("no `{BEGIN}` ... `{END}` markers for the changes section"),
        });
    };
    let start = start + BEGIN.len();
    if end < start {
        return Err(DiffError::Format {
            path: path.to_path_buf(),
            message: "the changes section's end marker comes before its start".into(),
        });
    }
    let filled = format!("{}\n{body}\n{}", &text[..start], &text[end..]);
    let tmp = PathBuf::from(format!("{}.tmp.{}", path.display(), std::process::id()));
    std::fs::write(&tmp, filled).map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

/// Text made safe inside HTML elements and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn show(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map_or("(absent)".into(), |v| v.to_string())
}

fn num(v: Option<f64>) -> String {
    v.map_or("(absent)".into(), |v| format!("{v:.4}"))
}

fn png_data_uri(path: &Path) -> Result<String, DiffError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// `repro diff --html`: the comparison as a page of its own, the same content as a
/// published report's changes section, plots diff included.
pub fn html_page(d: &ReportDiff, old: &Path, new: &Path, label: &str) -> Result<String, DiffError> {
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>repro diff</title><style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.2em .5em}} .pair{{display:flex;gap:1em}} .pair figure{{flex:1}} .pair img,.plots-diff svg{{max-width:100%;height:auto}}</style></head><body>\n<h1>What changed</h1>\n{}</body></html>\n",
        html_body(d, old, new, label)?
    ))
}

fn html_body(d: &ReportDiff, old: &Path, new: &Path, label: &str) -> Result<String, DiffError> {
    let mut s = format!(
        "<p>Compared with {}. <code>repro diff</code> prints the same comparison.</p>\n",
        escape(label)
    );
    if d.is_empty() {
        s.push_str("<p>No parameter, claim verdict or measured value, metric (beyond the tolerance) or figure data changed; only the report's code or templates did.</p>\n");
        return Ok(s);
    }
    let _ = write!(
        s,
        "<h3>Parameters ({} changed)</h3>\n<table>\n<tr><th>key</th><th>before</th><th>now</th></tr>\n",
        d.params.len()
    );
    for p in &d.params {
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&p.key),
            escape(&show(&p.old)),
            escape(&show(&p.new))
        );
    }
    let _ = write!(
        s,
        "</table>\n<h3>Claims ({} rows changed)</h3>\n<table>\n<tr><th>claim</th><th>dataset</th><th>before</th><th>now</th></tr>\n",
        d.claims.len()
    );
    for c in &d.claims {
        let side = |verdict: &Option<String>, measured: &Option<String>| {
            let v = verdict.clone().unwrap_or_else(|| "(absent)".into());
            match measured.as_deref() {
                Some(m) if !m.is_empty() => format!("<b>{}</b>: {}", escape(&v), escape(m)),
                _ => format!("<b>{}</b>", escape(&v)),
            }
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.claim),
            escape(&c.scope),
            side(&c.old_verdict, &c.old_measured),
            side(&c.new_verdict, &c.new_measured)
        );
    }
    let _ = write!(
        s,
        "</table>\n<h3>Metrics ({} moved by more than {}% of their value; largest first{})</h3>\n<table>\n<tr><th>network</th><th>layer</th><th>system</th><th>split</th><th>metric</th><th>before</th><th>now</th></tr>\n",
        d.metrics.len(),
        100.0 * d.tolerance,
        if d.metrics.len() > METRIC_ROWS {
            format!(", the first {METRIC_ROWS}")
        } else {
            String::new()
        }
    );
    for m in d.metrics.iter().take(METRIC_ROWS) {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.network),
            m.layer,
            escape(&m.system),
            escape(&m.split),
            escape(&m.metric),
            num(m.old),
            num(m.new)
        );
    }
    let _ = writeln!(
        s,
        "</table>\n<h3>Figures with changed data ({})</h3>",
        d.figures.len()
    );
    for id in &d.figures {
        let csv = |dir: &Path| dir.join("figures").join(format!("{id}.csv"));
        let overlay =
            super::plots_diff::figure_svg(id, &csv(old), &csv(new)).map_err(|message| {
                DiffError::Format {
                    path: csv(new),
                    message: format!("drawing the plots diff: {message}"),
                }
            })?;
        if let Some(svg) = overlay {
            let _ = writeln!(
                s,
                "<h4>{}</h4>\n<div class=\"plots-diff\">{svg}</div>",
                escape(id)
            );
            continue;
        }
        // Not drawable from its data (not the long format, or on one side only): the two
        // renderings side by side.
        let side = |dir: &Path, when: &str| -> Result<String, DiffError> {
            let png = dir.join("figures").join(format!("{id}.png"));
            Ok(if png.exists() {
                format!(
                    "<figure><img src=\"{}\" alt=\"{} {when}\"><figcaption>{when}</figcaption></figure>",
                    png_data_uri(&png)?,
                    escape(id)
                )
            } else {
                format!("<figure><p>(no {} {when})</p></figure>", escape(id))
            })
        };
        let _ = writeln!(
            s,
            "<h4>{}</h4>\n<div class=\"pair\">{}{}</div>",
            escape(id),
            side(old, "before")?,
            side(new, "now")?
        );
    }
    Ok(s)
}

fn md_body(d: &ReportDiff, label: &str) -> String {
    let mut s = format!(
        "Compared with the previous report of this configuration and profile ({label}); `repro diff` prints the same comparison.\n\n"
    );
    if d.is_empty() {
        s.push_str("No parameter, claim verdict or measured value, metric (beyond the tolerance) or figure data changed; only the report's code or templates did.\n");
    } else {
        s.push_str(&d.markdown(METRIC_ROWS));
        if !d.figures.is_empty() {
            s.push_str(
                "\nreport.html draws each changed figure's old data dashed over its new data.\n",
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_is_replaced_between_its_markers_only() {
        let dir = tempfile::tempdir().unwrap();
        let html = dir.path().join("report.html");
        std::fs::write(
            &html,
            format!("<h2>Changes</h2>\n{BEGIN}\nplaceholder\n{END}\n<p>after</p>"),
        )
        .unwrap();
        replace_between_markers(&html, "<p>new & improved</p>").unwrap();
        let text = std::fs::read_to_string(&html).unwrap();
        assert_eq!(
            text,
            format!("<h2>Changes</h2>\n{BEGIN}\n<p>new & improved</p>\n{END}\n<p>after</p>")
        );
        // Filling again replaces, never appends.
        replace_between_markers(&html, "second").unwrap();
        assert_eq!(
            std::fs::read_to_string(&html)
                .unwrap()
                .matches("second")
                .count(),
            1
        );
        assert!(!std::fs::read_to_string(&html).unwrap().contains("improved"));

        let bare = dir.path().join("bare.html");
        std::fs::write(&bare, "<p>no markers</p>").unwrap();
        let err = replace_between_markers(&bare, "x").unwrap_err().to_string();
        assert!(
            err.contains("bare.html") && err.contains("markers"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&bare).unwrap(), "<p>no markers</p>");
    }

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            escape("a < b & \"c\" > d"),
            "a &lt; b &amp; &quot;c&quot; &gt; d"
        );
    }
}
