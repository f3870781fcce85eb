//! The models the picker offers and their cards: the built-ins and the packages the user
//! loaded, read from their manifests only (no checksums, no model files: cheap enough for the
//! GUI thread, cached by reference).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use models::Role;
use models::package::{BUILTIN_PREFIX, DataSource, MANIFEST_FILE, Manifest, ModelKind};

/// Packages remembered in the picker's list (most recent first).
pub const MAX_RECENT_MODELS: usize = 8;

/// What the picker shows about a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The reference to load it (`builtin:<id>` or a package folder).
    pub reference: String,
    /// Name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Roles it generates.
    pub roles: Vec<Role>,
    /// Style names (style parameter n = `styles[n - 1]`).
    pub styles: Vec<String>,
    /// Who played which style, where the model's data names its players (the Player parameter).
    pub players: Option<models::players::Players>,
    /// The players each role knows by their phrasing alone (`Manifest::phrasing_players`, the
    /// WJazzD soloists), by role, in the Player parameter's order.
    pub phrasing: Vec<(Role, Vec<String>)>,
    /// Kind and variant ("transformer, int8", "Markov, order 8").
    pub kind: String,
    /// Bytes of its model files.
    pub size_bytes: u64,
    /// Training data.
    pub data: Vec<DataSource>,
    /// The validation likelihood against the Markov baseline, in words, when the manifest has it.
    pub quality: Option<String>,
}

impl ModelInfo {
    fn from_manifest(reference: String, m: &Manifest, size_bytes: u64) -> Self {
        let kind = match &m.model {
            ModelKind::Markov { order, .. } => format!("Markov, order {order}"),
            ModelKind::Transformer { int8, .. } => {
                format!("transformer, {}", if int8.is_some() { "int8" } else { "fp32" })
            }
        };
        let quality = match (m.metrics.get("valid_nll_all"), m.metrics.get("baseline_valid_nll_all")) {
            (Some(&nll), Some(&base)) if base > 0.0 => Some(format!(
                "Validation NLL {nll:.3} nats/token, {:.0}% {} the Markov baseline",
                ((nll - base) / base * 100.0).abs(),
                if nll <= base { "below" } else { "above" }
            )),
            _ => None,
        };
        ModelInfo {
            reference,
            name: m.name.clone(),
            description: m.description.clone(),
            roles: m.roles.clone(),
            styles: m.vocab.styles.clone(),
            players: m.players.clone(),
            phrasing: Role::ALL
                .iter()
                .map(|&r| {
                    (
                        r,
                        m.phrasing_players(r).into_iter().map(String::from).collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, names)| !names.is_empty())
                .collect(),
            kind,
            size_bytes,
            data: m.data.clone(),
            quality,
        }
    }
}

/// The manifest file of a package reference (a folder or its manifest).
fn manifest_path(reference: &str) -> PathBuf {
    let p = Path::new(reference.trim());
    if p.is_dir() {
        p.join(MANIFEST_FILE)
    } else {
        p.to_path_buf()
    }
}

/// Reads what the picker shows about `reference`.
pub fn read_info(reference: &str) -> Result<ModelInfo, String> {
    let reference = reference.trim();
    if let Some(id) = reference.strip_prefix(BUILTIN_PREFIX) {
        let b = models::assets::builtin(id).ok_or_else(|| format!("no built-in model {id:?}"))?;
        let m = Manifest::from_json(b.manifest, Path::new(reference)).map_err(|e| models::error::chain(&e))?;
        let size = b.files.iter().map(|f| f.1.len() as u64).sum();
        return Ok(ModelInfo::from_manifest(reference.to_string(), &m, size));
    }
    if reference.is_empty() {
        return Err("no model".into());
    }
    let path = manifest_path(reference);
    let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > models::package::MAX_MANIFEST_BYTES {
        return Err(format!("{}: too large for a manifest", path.display()));
    }
    let json = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let m = Manifest::from_json(&json, &path).map_err(|e| models::error::chain(&e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let size = m
        .files
        .keys()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|md| md.len())
        .sum();
    Ok(ModelInfo::from_manifest(reference.to_string(), &m, size))
}

/// The built-ins, the packages used in this session, and a cache of cards by reference.
#[derive(Debug, Default)]
pub struct Catalog {
    builtins: Vec<ModelInfo>,
    recent: Vec<String>,
    cache: HashMap<String, Result<ModelInfo, String>>,
}

impl Catalog {
    /// Reads the built-ins' manifests.
    pub fn new() -> Self {
        let builtins = models::assets::BUILT_INS
            .iter()
            .filter_map(|b| read_info(&format!("{BUILTIN_PREFIX}{}", b.id)).ok())
            .collect();
        Catalog {
            builtins,
            recent: Vec::new(),
            cache: HashMap::new(),
        }
    }

    /// The built-in models.
    pub fn builtins(&self) -> &[ModelInfo] {
        &self.builtins
    }

    /// The card of `reference` (read once, then cached).
    pub fn info(&mut self, reference: &str) -> Result<ModelInfo, String> {
        let key = reference.trim().to_string();
        if let Some(b) = self.builtins.iter().find(|b| b.reference == key) {
            return Ok(b.clone());
        }
        self.cache.entry(key.clone()).or_insert_with(|| read_info(&key)).clone()
    }

    /// Remembers a package the user loaded (and reads its card afresh).
    pub fn remember(&mut self, reference: &str) {
        let r = reference.trim().to_string();
        if r.starts_with(BUILTIN_PREFIX) {
            return;
        }
        self.cache.remove(&r);
        self.recent.retain(|x| *x != r);
        self.recent.insert(0, r);
        self.recent.truncate(MAX_RECENT_MODELS);
    }

    /// Packages to offer: the one asked for now (if a package) and the recent ones that read.
    pub fn user_models(&mut self, asked: &str) -> Vec<ModelInfo> {
        let mut refs: Vec<String> = Vec::new();
        let asked = asked.trim();
        if !asked.is_empty() && !asked.starts_with(BUILTIN_PREFIX) {
            refs.push(asked.to_string());
        }
        for r in &self.recent {
            if !refs.contains(r) {
                refs.push(r.clone());
            }
        }
        refs.iter().filter_map(|r| self.info(r).ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_cards_have_the_key_facts() {
        let c = Catalog::new();
        assert_eq!(c.builtins().len(), models::assets::BUILT_INS.len());
        let jazz = c
            .builtins()
            .iter()
            .find(|m| m.reference == "builtin:jazz-lead")
            .unwrap();
        assert!(jazz.name.contains("Jazz"));
        assert!(jazz.roles.contains(&Role::Lead));
        assert_eq!(jazz.kind, "transformer, int8");
        assert!(jazz.size_bytes > 100_000);
        assert!(!jazz.data.is_empty());
        let markov = c.builtins().iter().find(|m| m.reference == "builtin:markov").unwrap();
        assert!(markov.kind.starts_with("Markov"));
        assert!(markov.styles.len() > 10);
    }

    #[test]
    fn a_package_folder_reads_and_junk_says_why() {
        let mut c = Catalog::new();
        let dir = std::env::temp_dir().join(format!("sideman-catalog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let jazz = models::assets::builtin("jazz-lead").unwrap();
        std::fs::write(dir.join(MANIFEST_FILE), jazz.manifest).unwrap();
        let r = dir.display().to_string();
        let info = c.info(&r).unwrap();
        assert!(info.name.contains("Jazz"));
        assert_eq!(info.size_bytes, 0, "the model file is not there");
        c.remember(&r);
        assert_eq!(c.user_models("").len(), 1);
        assert!(c.info("/definitely/not/here").is_err());
        std::fs::write(dir.join(MANIFEST_FILE), "{ nope").unwrap();
        c.remember(&r);
        assert!(c.info(&r).is_err());
        assert!(c.user_models(&r).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
