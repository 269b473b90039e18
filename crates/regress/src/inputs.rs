//! What a run was made from, compared through the two manifests: the files'
//! hashes and every setting of the pipeline, schema and source files.

use crate::estimates::flatten;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// Differences in what the runs were made from. They explain a change but
/// are not one: a reordered export has a new hash and the same outputs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inputs {
    pub files: Vec<FileChange>,
    pub settings: Vec<SettingChange>,
    pub note: Option<String>,
}

/// A file whose hash changed, or that one run only has.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// `pipeline`, `schema`, `source <name>` or `data of <name>`.
    pub role: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub what: String,
}

/// A key of a pipeline, schema or source file that changed.
#[derive(Debug, Clone, Serialize)]
pub struct SettingChange {
    /// `pipeline`, `schema` or `source <name>`.
    pub file: String,
    pub key: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Inputs {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.settings.is_empty()
    }
}

/// Compares two manifests (either may be missing).
pub fn compare(old: Option<&Value>, new: Option<&Value>) -> Inputs {
    let (Some(old), Some(new)) = (old, new) else {
        return Inputs {
            note: Some("not compared: a side has no manifest.json".into()),
            ..Inputs::default()
        };
    };
    let mut out = Inputs::default();
    let entries = |m: &Value| -> Vec<(String, Option<Value>)> {
        let mut v = vec![
            ("pipeline".to_string(), m.get("pipeline").cloned()),
            ("schema".to_string(), m.get("schema").cloned()),
        ];
        for s in m
            .get("sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
            v.push((format!("source {name}"), Some(s.clone())));
            v.push((format!("data of {name}"), s.get("data").cloned()));
        }
        v
    };
    let a = entries(old);
    let b = entries(new);
    let sha = |e: &Option<Value>| -> Option<String> {
        e.as_ref()?
            .get("sha256")
            .and_then(Value::as_str)
            .map(String::from)
    };
    let file = |e: &Option<Value>| -> Option<String> {
        e.as_ref()?
            .get("file")
            .and_then(Value::as_str)
            .map(String::from)
    };
    let a_map: HashMap<&str, &Option<Value>> = a.iter().map(|(r, e)| (r.as_str(), e)).collect();
    let b_map: HashMap<&str, &Option<Value>> = b.iter().map(|(r, e)| (r.as_str(), e)).collect();
    for (role, e) in &b {
        match a_map.get(role.as_str()) {
            None => out.files.push(FileChange {
                role: role.clone(),
                old: None,
                new: file(e),
                what: "added".into(),
            }),
            Some(o) if sha(o) != sha(e) => out.files.push(FileChange {
                role: role.clone(),
                old: file(o),
                new: file(e),
                what: "content changed (sha256)".into(),
            }),
            Some(_) => {}
        }
    }
    for (role, e) in &a {
        if !b_map.contains_key(role.as_str()) {
            out.files.push(FileChange {
                role: role.clone(),
                old: file(e),
                new: None,
                what: "removed".into(),
            });
        }
    }

    // Settings: every key of the TOML files, as the manifest carries them.
    let settings = |m: &Value| -> Vec<(String, Value)> {
        let mut v = Vec::new();
        if let Some(s) = m.get("pipeline").and_then(|p| p.get("settings")) {
            v.push(("pipeline".to_string(), s.clone()));
        }
        if let Some(s) = m.get("schema").and_then(|p| p.get("settings")) {
            v.push(("schema".to_string(), s.clone()));
        }
        for s in m
            .get("sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(x) = s.get("settings") {
                let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
                v.push((format!("source {name}"), x.clone()));
            }
        }
        v
    };
    let sa = settings(old);
    let sb = settings(new);
    if sa.is_empty() || sb.is_empty() {
        out.note = Some(
            "settings not compared key by key: a manifest does not carry them (made by an \
             older cohortflow)"
                .into(),
        );
        return out;
    }
    for (name, new_settings) in &sb {
        // A source in one run only is listed with the files.
        let Some((_, old_settings)) = sa.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let ol = flatten(old_settings);
        let nl = flatten(new_settings);
        let om: HashMap<&str, &Value> = ol.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let nm: HashMap<&str, &Value> = nl.iter().map(|(k, v)| (k.as_str(), v)).collect();
        for (k, v) in &nl {
            if om.get(k.as_str()) != Some(&v) {
                out.settings.push(SettingChange {
                    file: name.clone(),
                    key: k.clone(),
                    old: om.get(k.as_str()).map(|v| (*v).clone()),
                    new: Some(v.clone()),
                });
            }
        }
        for (k, v) in &ol {
            if !nm.contains_key(k.as_str()) {
                out.settings.push(SettingChange {
                    file: name.clone(),
                    key: k.clone(),
                    old: Some(v.clone()),
                    new: None,
                });
            }
        }
    }
    out
}
