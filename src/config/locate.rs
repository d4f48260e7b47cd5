//! Maps a dotted key path (`train.width`, `data.datasets[1]`) to its line in a TOML file,
//! so configuration errors can say exactly where to look.

use toml_edit::{Document, Item};

pub struct TomlSource {
    text: String,
    doc: Option<Document<String>>,
}

impl TomlSource {
    pub fn new(text: String) -> Self {
        let doc = Document::parse(text.clone()).ok();
        TomlSource { text, doc }
    }

    /// 1-based line of the key (or array element) at `path`, if it is in this file. A path
    /// that goes deeper than the file does (into an array element, say) resolves to the
    /// deepest part that exists.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut item: &Item = doc.as_item();
        let mut span = None;
        for seg in split_path(path) {
            match seg {
                Segment::Key(k) => {
                    let (key, value) = item.as_table_like()?.get_key_value(&k)?;
                    span = key.span().or_else(|| value.span()).or(span);
                    item = value;
                }
                Segment::Index(i) => {
                    if let Some(v) = item.as_array().and_then(|a| a.get(i)) {
                        span = v.span().or(span);
                    }
                    break;
                }
            }
        }
        let span = span?;
        Some(self.text[..span.start].matches('\n').count() + 1)
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Segment::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                if let Ok(i) = rest[1..close].parse() {
                    out.push(Segment::Index(i));
                }
                rest = &rest[close + 1..];
                if !rest.starts_with('[') {
                    break;
                }
            }
        } else {
            out.push(Segment::Key(rest.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_nested_and_dotted_tables() {
        let src = TomlSource::new(
            "[data]\nval_size = 10\n\n[profiles.quick.train]\nwidth = 0\n".to_string(),
        );
        assert_eq!(src.line_of("data.val_size"), Some(2));
        assert_eq!(src.line_of("profiles.quick.train.width"), Some(5));
        assert_eq!(src.line_of("data"), Some(1));
        assert_eq!(src.line_of("data.missing"), None);
        let src = TomlSource::new("[data]\ndatasets = [\n  \"a\",\n  \"b\",\n]\n".to_string());
        assert_eq!(src.line_of("data.datasets[1]"), Some(4));
    }
}
