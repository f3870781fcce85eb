//! The score's metadata: titles, composer, lyricist and date, for style tags and records.

use roxmltree::Node;
use serde::{Deserialize, Serialize};

/// What a score says about itself. Every text has its runs of white space collapsed to one
/// space; an empty text is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreInfo {
    /// `<work><work-title>`: the work (for a song of a cycle, the cycle).
    pub work_title: Option<String>,
    /// `<work><work-number>` (an opus number).
    pub work_number: Option<String>,
    /// `<movement-title>`: the movement or song.
    pub movement_title: Option<String>,
    /// The `<creator type="composer">`s joined by ", ", else the text of a composer `<credit>`.
    pub composer: Option<String>,
    /// The `<creator type="lyricist">`s (and poets) joined by ", ".
    pub lyricist: Option<String>,
    /// A `<miscellaneous-field>` named `date`, `year`, `composition-date` or `composed`.
    pub date: Option<String>,
}

impl ScoreInfo {
    /// The piece's title: the movement title, else the work title.
    pub fn title(&self) -> Option<&str> {
        self.movement_title.as_deref().or(self.work_title.as_deref())
    }
}

/// `s` with runs of white space collapsed to one space and trimmed; `None` when empty.
pub(super) fn clean(s: &str) -> Option<String> {
    let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

/// The text of `node`'s first child element called `name`, cleaned.
pub(super) fn child_text(node: Node, name: &str) -> Option<String> {
    node.children()
        .find(|c| c.has_tag_name(name))
        .and_then(|c| c.text())
        .and_then(clean)
}

/// Reads the metadata under the score's root element.
pub(super) fn read(root: Node) -> ScoreInfo {
    let work = root.children().find(|c| c.has_tag_name("work"));
    let identification = root.children().find(|c| c.has_tag_name("identification"));
    let creators = |kinds: &[&str]| -> Option<String> {
        let names: Vec<String> = identification
            .into_iter()
            .flat_map(|i| i.children())
            .filter(|c| c.has_tag_name("creator"))
            .filter(|c| c.attribute("type").is_some_and(|t| kinds.contains(&t)))
            .filter_map(|c| c.text().and_then(clean))
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    };
    let composer_credit = || {
        root.children()
            .filter(|c| c.has_tag_name("credit"))
            .find(|c| {
                c.children()
                    .any(|t| t.has_tag_name("credit-type") && t.text().is_some_and(|x| x.trim() == "composer"))
            })
            .and_then(|c| {
                let words: Vec<String> = c
                    .children()
                    .filter(|w| w.has_tag_name("credit-words"))
                    .filter_map(|w| w.text().and_then(clean))
                    .collect();
                clean(&words.join(" "))
            })
    };
    let date = identification
        .into_iter()
        .flat_map(|i| i.descendants())
        .filter(|c| c.has_tag_name("miscellaneous-field"))
        .find(|c| {
            c.attribute("name").is_some_and(|n| {
                let n = n.to_ascii_lowercase();
                ["date", "year", "composition-date", "composed", "date-composed"].contains(&n.as_str())
            })
        })
        .and_then(|c| c.text().and_then(clean));
    ScoreInfo {
        work_title: work.and_then(|w| child_text(w, "work-title")),
        work_number: work.and_then(|w| child_text(w, "work-number")),
        movement_title: child_text(root, "movement-title"),
        composer: creators(&["composer"]).or_else(composer_credit),
        lyricist: creators(&["lyricist", "poet"]),
        date,
    }
}
