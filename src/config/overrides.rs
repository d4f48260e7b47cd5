//! `--set KEY=VALUE`: one value of `pipeline.toml` changed from the command line, laid
//! over the file and the profile, and then validated, keyed and recorded like any value of
//! the file. `KEY` is a dotted path into the experiment's tables (`train.lr`,
//! `claims.last_layer_perplexity_max.value`); `VALUE` is a TOML value (`0.003`, `[1, 2]`,
//! `{ rule = "epochs" }`, `"relu"`), and a bare word such as `relu` is taken as a string.

use super::error::{ConfigError, Location};
use serde_json::Value;
use std::path::PathBuf;

/// Tables that are not the experiment's: they say where and how to run, not what.
const NOT_SETTABLE: [&str; 5] = ["project", "profiles", "executor", "remote", "remotes"];

/// One parsed `--set`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The argument as given, for messages and for passing on to workers.
    pub text: String,
    pub path: Vec<String>,
    pub value: Value,
}

impl Override {
    pub fn key(&self) -> String {
        self.path.join(".")
    }
}

fn error(key: Option<String>, message: String) -> ConfigError {
    ConfigError::Invalid {
        location: Location {
            file: PathBuf::from("--set"),
            line: None,
            key,
        },
        message,
    }
}

/// Parses `KEY=VALUE`.
pub fn parse(text: &str) -> Result<Override, ConfigError> {
    let Some((key, raw)) = text.split_once('=') else {
        return Err(error(
            None,
            format!("`{text}` is not KEY=VALUE (for example train.lr=0.003)"),
        ));
    };
    let key = key.trim();
    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
    if path.iter().any(|p| {
        p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(error(
            Some(key.to_string()),
            format!("`{key}` is not a dotted key such as train.lr"),
        ));
    }
    if NOT_SETTABLE.contains(&path[0].as_str()) {
        return Err(error(
            Some(key.to_string()),
            format!(
                "[{}] says where and how to run, not what: it cannot be set with --set",
                path[0]
            ),
        ));
    }
    let raw = raw.trim();
    let value: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").expect("the one key parsed"),
        Err(_)
            if !raw.is_empty()
                && raw
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)) =>
        {
            toml::Value::String(raw.to_string())
        }
        Err(e) => {
            return Err(error(
                Some(key.to_string()),
                format!("`{raw}` is not a TOML value: {}", e.message()),
            ))
        }
    };
    if let toml::Value::Float(f) = value {
        if !f.is_finite() {
            return Err(error(
                Some(key.to_string()),
                "must be a finite number".into(),
            ));
        }
    }
    let value =
        serde_json::to_value(&value).map_err(|e| error(Some(key.to_string()), e.to_string()))?;
    Ok(Override {
        text: text.to_string(),
        path,
        value,
    })
}

/// Sets the override's value in `tables` (the experiment's tables as JSON), creating the
/// tables on its path that are missing.
pub fn apply(tables: &mut Value, o: &Override) -> Result<(), ConfigError> {
    let mut at = tables;
    for (i, part) in o.path.iter().enumerate() {
        let Value::Object(map) = at else {
            return Err(error(
                Some(o.key()),
                format!("`{}` is not a table", o.path[..i].join(".")),
            ));
        };
        if i + 1 == o.path.len() {
            map.insert(part.clone(), o.value.clone());
            return Ok(());
        }
        at = map
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_toml_and_bare_words_are_strings() {
        assert_eq!(parse("train.lr=0.003").unwrap().value, json!(0.003));
        assert_eq!(parse("train.seeds=[1, 2]").unwrap().value, json!([1, 2]));
        assert_eq!(
            parse("train.activation=sigmoid").unwrap().value,
            json!("sigmoid")
        );
        assert_eq!(
            parse("train.activation=\"relu\"").unwrap().value,
            json!("relu")
        );
        assert_eq!(
            parse("train.stop={ rule = \"epochs\" }").unwrap().value,
            json!({ "rule": "epochs" })
        );
        assert_eq!(parse(" train.lr = 1e-3 ").unwrap().key(), "train.lr");
    }

    #[test]
    fn bad_arguments_are_named() {
        let msg = |t: &str| parse(t).unwrap_err().to_string();
        assert!(
            msg("train.lr").contains("is not KEY=VALUE"),
            "{}",
            msg("train.lr")
        );
        assert!(msg("train..lr=1").contains("is not a dotted key"));
        assert!(msg("executor.kind=slurm").contains("cannot be set with --set"));
        let e = msg("train.lr=[1,");
        assert!(
            e.starts_with("--set: key `train.lr`: `[1,` is not a TOML value"),
            "{e}"
        );
        assert!(msg("train.lr=nan").contains("finite"));
    }

    #[test]
    fn apply_sets_nested_keys_and_refuses_to_descend_into_values() {
        let mut t = json!({ "train": { "lr": 0.001, "seeds": [1] } });
        apply(&mut t, &parse("train.lr=0.003").unwrap()).unwrap();
        apply(&mut t, &parse("claims.x.value=2").unwrap()).unwrap();
        assert_eq!(
            t,
            json!({ "train": { "lr": 0.003, "seeds": [1] }, "claims": { "x": { "value": 2 } } })
        );
        let e = apply(&mut t, &parse("train.lr.x=1").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`train.lr` is not a table"), "{e}");
    }
}
