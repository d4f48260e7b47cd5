//! What one source file declares and names: child modules, `use` trees, paths, embedded
//! files and build-time variables.

use super::lex::{lex, Tok};

/// A parsed source file.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// `mod name;` declarations outside tests, with a `#[path]` if one is given.
    pub(super) children: Vec<(String, Option<String>)>,
    /// Private `use` paths and every other path expression: followed whenever the file is.
    pub(super) uses: Vec<Vec<String>>,
    /// `pub use` re-exports as (name visible here, full path); `*` for globs.
    pub(super) reexports: Vec<(String, Vec<String>)>,
    /// Every name a `use` brings into scope, public or not, as (name, path as written):
    /// a later path starting with the name (an alias from `use … as` too) continues there.
    pub(super) scope: Vec<(String, Vec<String>)>,
    /// String arguments of `include_bytes!` / `include_str!`.
    pub(super) includes: Vec<String>,
    /// Names read with `env!`.
    pub(super) envs: Vec<String>,
}

pub(super) fn parse_source(text: &str) -> Parsed {
    let toks = lex(text);
    let mut out = Parsed::default();
    let ident = |i: usize| match toks.get(i) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    let mut i = 0;
    let mut test_only = false;
    let mut path_attr: Option<String> = None;
    while i < toks.len() {
        // Attributes: remember `cfg(test)` and `path = "…"` for the item that follows.
        if toks[i] == Tok::Punct('#') && toks.get(i + 1) == Some(&Tok::Punct('[')) {
            let end = matching(&toks, i + 1, '[', ']');
            let inner = &toks[i + 2..end.min(toks.len())];
            if inner.first() == Some(&Tok::Ident("cfg".into()))
                && inner.contains(&Tok::Ident("test".into()))
                && !inner.contains(&Tok::Ident("not".into()))
            {
                test_only = true;
            }
            if let [Tok::Ident(p), Tok::Punct('='), Tok::Str(s)] = inner {
                if p == "path" {
                    path_attr = Some(s.clone());
                }
            }
            i = end + 1;
            continue;
        }
        match ident(i) {
            Some("mod") => {
                if let Some(name) = ident(i + 1) {
                    match toks.get(i + 2) {
                        Some(Tok::Punct(';')) => {
                            if !test_only {
                                out.children.push((name.to_string(), path_attr.clone()));
                            }
                            i += 3;
                        }
                        Some(Tok::Punct('{')) if test_only => {
                            i = matching(&toks, i + 2, '{', '}') + 1;
                        }
                        _ => i += 2,
                    }
                } else {
                    i += 1;
                }
                test_only = false;
                path_attr = None;
                continue;
            }
            Some("use") => {
                let public = i > 0
                    && (ident(i - 1) == Some("pub")
                        || (toks[i - 1] == Tok::Punct(')')
                            && (1..i).rev().take(4).any(|k| ident(k) == Some("pub"))));
                let end = (i..toks.len())
                    .find(|&k| toks[k] == Tok::Punct(';'))
                    .unwrap_or(toks.len());
                let mut paths = Vec::new();
                use_tree(&toks[i + 1..end], &[], &mut paths);
                for (visible, path) in paths {
                    if !test_only && visible != "*" {
                        out.scope.push((visible.clone(), path.clone()));
                    }
                    if public && !test_only {
                        out.reexports.push((visible, path));
                    } else if !test_only {
                        out.uses.push(path);
                    }
                }
                i = end + 1;
                test_only = false;
                path_attr = None;
                continue;
            }
            Some(m @ ("include_bytes" | "include_str" | "env"))
                if toks.get(i + 1) == Some(&Tok::Punct('!')) =>
            {
                if let Some(Tok::Str(s)) = toks.get(i + 3) {
                    if !test_only {
                        if m == "env" {
                            out.envs.push(s.clone());
                        } else {
                            out.includes.push(s.clone());
                        }
                    }
                }
                i += 4;
                continue;
            }
            Some(_) => {
                // A path expression: a run of `ident (:: ident)*` not preceded by `::`.
                let starts_path = toks.get(i + 1) == Some(&Tok::PathSep)
                    && (i == 0 || toks[i - 1] != Tok::PathSep);
                if starts_path {
                    let mut path = Vec::new();
                    let mut k = i;
                    while let Some(seg) = ident(k) {
                        path.push(seg.to_string());
                        if toks.get(k + 1) == Some(&Tok::PathSep) {
                            k += 2;
                        } else {
                            break;
                        }
                    }
                    if !test_only {
                        out.uses.push(path);
                    }
                    i = k + 1;
                    continue;
                }
            }
            None => {}
        }
        // `;` or a closing brace ends whatever item an attribute was attached to.
        if matches!(toks[i], Tok::Punct(';') | Tok::Punct('}')) {
            test_only = false;
            path_attr = None;
        }
        // A `#[cfg(test)]` function or impl block: skip its body.
        if test_only && toks[i] == Tok::Punct('{') {
            i = matching(&toks, i, '{', '}') + 1;
            test_only = false;
            path_attr = None;
            continue;
        }
        i += 1;
    }
    out
}

/// Index of the token closing the bracket opened at `open`.
fn matching(toks: &[Tok], open: usize, l: char, r: char) -> usize {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if *t == Tok::Punct(l) {
            depth += 1;
        } else if *t == Tok::Punct(r) {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    toks.len()
}

/// Expands a use tree (`a::b::{c, d::e as f, g::*}`) into (visible name, full path) pairs.
pub(super) fn use_tree(toks: &[Tok], prefix: &[String], out: &mut Vec<(String, Vec<String>)>) {
    let mut i = 0;
    let mut path = prefix.to_vec();
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(s) if s == "as" => {
                if let Some(Tok::Ident(alias)) = toks.get(i + 1) {
                    out.push((alias.clone(), path.clone()));
                }
                path = prefix.to_vec();
                i += 2;
                // Skip to the next `,` of this level.
                while i < toks.len() && toks[i] != Tok::Punct(',') {
                    i += 1;
                }
            }
            Tok::Ident(s) => {
                path.push(s.clone());
                i += 1;
            }
            Tok::PathSep => i += 1,
            Tok::Punct('*') => {
                out.push(("*".into(), path.clone()));
                path = prefix.to_vec();
                i += 1;
            }
            Tok::Punct('{') => {
                let end = matching(toks, i, '{', '}');
                use_tree(&toks[i + 1..end.min(toks.len())], &path, out);
                path = prefix.to_vec();
                i = end + 1;
            }
            Tok::Punct(',') => {
                flush(&mut path, prefix, out);
                i += 1;
            }
            _ => i += 1,
        }
    }
    flush(&mut path, prefix, out);
}

fn flush(path: &mut Vec<String>, prefix: &[String], out: &mut Vec<(String, Vec<String>)>) {
    if path.len() > prefix.len() {
        let mut p = std::mem::replace(path, prefix.to_vec());
        // `use a::b::{self}` names module `b` itself.
        if p.last().map(String::as_str) == Some("self") {
            p.pop();
        }
        if let Some(last) = p.last() {
            out.push((last.clone(), p));
        }
    } else {
        *path = prefix.to_vec();
    }
}
