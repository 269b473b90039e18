//! The small vocabulary a draft matches with: header words (Russian stems
//! and English words) reduced to one canonical token each, units written in
//! headers, and the codes registries commonly use for sex, yes/no, tumour
//! and metastatic sites, response and mutation, reduced to the words of a
//! schema's levels. What is not here is left to a human (`# TODO`).

/// Header words to canonical tokens. A Russian entry is a stem (the word
/// starts with it, so every case ending matches); an English one is the
/// whole word (a plural `s` is dropped before looking up).
const STEMS: &[(&str, &str)] = &[
    ("дат", "date"),
    ("рожд", "birth"),
    ("диагн", "diagnosis"),
    ("локализ", "site"),
    ("первичн", "primary"),
    ("опухол", "tumour"),
    ("новообраз", "tumour"),
    ("мутац", "mutation"),
    ("генотип", "mutation"),
    ("размер", "size"),
    ("диаметр", "size"),
    ("метастаз", "mets"),
    ("мтс", "mets"),
    ("лини", "line"),
    ("иматиниб", "imatinib"),
    ("гливек", "imatinib"),
    ("начал", "start"),
    ("лучш", "best"),
    ("ответ", "response"),
    ("прогресс", "progression"),
    ("операц", "surgery"),
    ("хирург", "surgery"),
    ("резекц", "surgery"),
    ("смерт", "death"),
    ("летальн", "death"),
    ("последн", "last"),
    ("контакт", "followup"),
    ("наблюден", "followup"),
    ("снилс", "snils"),
    ("истори", "record"),
    ("карт", "record"),
    ("номер", "id"),
    ("пациент", "patient"),
    ("больн", "patient"),
    ("возраст", "age"),
    ("стади", "stage"),
];

const WORDS: &[(&str, &str)] = &[
    ("пол", "sex"),
    ("№", "id"),
    ("код", "id"),
    ("ид", "id"),
    ("id", "id"),
    ("identifier", "id"),
    ("number", "id"),
    ("nr", "id"),
    ("num", "id"),
    ("record", "record"),
    ("patient", "patient"),
    ("sex", "sex"),
    ("gender", "sex"),
    ("date", "date"),
    ("birth", "birth"),
    ("born", "birth"),
    ("diagnosis", "diagnosis"),
    ("diagnosed", "diagnosis"),
    ("primary", "primary"),
    ("site", "site"),
    ("location", "site"),
    ("localisation", "site"),
    ("localization", "site"),
    ("tumour", "tumour"),
    ("tumor", "tumour"),
    ("mutation", "mutation"),
    ("mutational", "mutation"),
    ("genotype", "mutation"),
    ("size", "size"),
    ("diameter", "size"),
    ("met", "mets"),
    ("metastatic", "mets"),
    ("metastasis", "mets"),
    ("metastase", "mets"),
    ("metastases", "mets"),
    ("line", "line"),
    ("im", "imatinib"),
    ("imatinib", "imatinib"),
    ("glivec", "imatinib"),
    ("gleevec", "imatinib"),
    ("start", "start"),
    ("begin", "start"),
    ("initiation", "start"),
    ("best", "best"),
    ("response", "response"),
    ("progression", "progression"),
    ("progressed", "progression"),
    ("surgery", "surgery"),
    ("operation", "surgery"),
    ("resection", "surgery"),
    ("death", "death"),
    ("died", "death"),
    ("last", "last"),
    ("followup", "followup"),
    ("contact", "followup"),
    ("national", "national"),
    ("insurance", "insurance"),
    ("snils", "snils"),
    ("age", "age"),
    ("stage", "stage"),
    ("centre", "centre"),
    ("center", "centre"),
];

const STOP: &[&str] = &[
    "of", "the", "at", "in", "a", "an", "and", "for", "to", "on", "by", "within", "на", "в", "и",
    "при", "по", "от", "с",
];

/// Units as written in headers, to the names a source file uses.
const UNITS: &[(&str, &str)] = &[
    ("mm", "mm"),
    ("мм", "mm"),
    ("cm", "cm"),
    ("см", "cm"),
    ("kg", "kg"),
    ("кг", "kg"),
    ("days", "days"),
    ("дней", "days"),
    ("дни", "days"),
    ("weeks", "weeks"),
    ("нед", "weeks"),
    ("months", "months"),
    ("мес", "months"),
    ("years", "years"),
    ("лет", "years"),
];

fn lower(t: &str) -> String {
    t.to_lowercase().replace('ё', "е")
}

fn split_words(t: &str) -> Vec<String> {
    let t = lower(t)
        .replace("follow-up", "followup")
        .replace("follow up", "followup")
        .replace('№', " № ");
    t.split(|c: char| !(c.is_alphanumeric() || c == '№'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn canon(w: &str) -> String {
    if let Some((_, c)) = WORDS.iter().find(|(k, _)| *k == w) {
        return c.to_string();
    }
    if let Some(stem) = w.strip_suffix('s')
        && let Some((_, c)) = WORDS.iter().find(|(k, _)| *k == stem)
    {
        return c.to_string();
    }
    if let Some((_, c)) = STEMS.iter().find(|(k, _)| w.starts_with(k)) {
        return c.to_string();
    }
    w.to_string()
}

/// The canonical tokens of a header or a schema column name (`_` splits
/// words), without stop words and units, in order, without repeats.
pub fn tokens(t: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in split_words(&t.replace('_', " ")) {
        if STOP.contains(&w.as_str()) || UNITS.iter().any(|(u, _)| *u == w) {
            continue;
        }
        let c = canon(&w);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The unit a header names (`Размер, см`, `Size (mm)`).
pub fn unit_in(header: &str) -> Option<&'static str> {
    split_words(header)
        .iter()
        .find_map(|w| UNITS.iter().find(|(u, _)| u == w).map(|(_, n)| *n))
}

/// Codes to the words of canonical levels.
const CODES: &[(&str, &str)] = &[
    ("м", "m"),
    ("муж", "m"),
    ("мужской", "m"),
    ("мужчина", "m"),
    ("male", "m"),
    ("man", "m"),
    ("ж", "f"),
    ("жен", "f"),
    ("женский", "f"),
    ("женщина", "f"),
    ("female", "f"),
    ("woman", "f"),
    ("да", "true"),
    ("yes", "true"),
    ("y", "true"),
    ("нет", "false"),
    ("no", "false"),
    ("n", "false"),
    ("желудок", "stomach"),
    ("тонкая кишка", "small bowel"),
    ("тонкий кишечник", "small bowel"),
    ("small intestine", "small bowel"),
    ("прямая кишка", "rectum"),
    ("толстая кишка", "colon"),
    ("ободочная кишка", "colon"),
    ("пищевод", "esophagus"),
    ("двенадцатиперстная кишка", "duodenum"),
    ("другое", "other"),
    ("другая", "other"),
    ("другой", "other"),
    ("прочее", "other"),
    ("прочие", "other"),
    ("иное", "other"),
    ("печень", "liver"),
    ("брюшина", "peritoneum"),
    ("легкие", "lung"),
    ("легкое", "lung"),
    ("lungs", "lung"),
    ("кости", "bone"),
    ("кость", "bone"),
    ("bones", "bone"),
    ("по", "cr"),
    ("полный ответ", "cr"),
    ("complete response", "cr"),
    ("чо", "pr"),
    ("частичный ответ", "pr"),
    ("partial response", "pr"),
    ("сз", "sd"),
    ("стабилизация", "sd"),
    ("стабилизация заболевания", "sd"),
    ("stable disease", "sd"),
    ("пб", "pd"),
    ("пз", "pd"),
    ("прогрессирование", "pd"),
    ("progressive disease", "pd"),
    ("progression", "pd"),
    ("дикий тип", "wild type"),
    ("wildtype", "wild type"),
    ("wt", "wild type"),
];

/// Words dropped from codes before comparing (`KIT exon 11` is `KIT11`).
const NOISE: &[&str] = &["exon", "экзон", "экзона"];

fn compact(t: &str) -> String {
    t.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn one_part(t: &str) -> String {
    let t = lower(t.trim());
    let t = CODES
        .iter()
        .find(|(k, _)| *k == t)
        .map_or(t.clone(), |(_, v)| v.to_string());
    let words: Vec<String> = t
        .split_whitespace()
        .filter(|w| !NOISE.contains(w))
        .map(|w| {
            CODES
                .iter()
                .find(|(k, _)| *k == w)
                .map_or(w.to_string(), |(_, v)| v.to_string())
        })
        .collect();
    compact(&words.join(" "))
}

/// A code or a level reduced for comparison: lower case, translated, only
/// letters and digits; a combination (`печень+брюшина`, `liver,
/// peritoneum`) as its sorted parts joined by `+`.
pub fn code_key(t: &str) -> String {
    let lowered = lower(t);
    let mut parts: Vec<String> = lowered
        .split(['+', ',', ';', '/', '&'])
        .flat_map(|p| p.split(" и ").flat_map(|q| q.split(" and ")))
        .map(one_part)
        .filter(|p| !p.is_empty())
        .collect();
    parts.sort();
    parts.dedup();
    parts.join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tokens() {
        assert_eq!(
            tokens("Дата последнего контакта"),
            ["date", "last", "followup"]
        );
        assert_eq!(tokens("Last follow-up"), ["last", "followup"]);
        assert_eq!(tokens("last_followup"), ["last", "followup"]);
        assert_eq!(tokens("Размер опухоли, см"), ["size", "tumour"]);
        assert_eq!(tokens("Metastatic sites"), ["mets", "site"]);
        assert_eq!(tokens("№ истории"), ["id", "record"]);
        assert_eq!(unit_in("Tumour size (mm)"), Some("mm"));
        assert_eq!(unit_in("Размер опухоли, см"), Some("cm"));
        assert_eq!(unit_in("Пол"), None);
    }

    #[test]
    fn codes_and_levels() {
        assert_eq!(code_key("KIT exon 11"), code_key("KIT11"));
        assert_eq!(code_key("KIT 9"), code_key("KIT9"));
        assert_eq!(code_key("дикий тип"), code_key("wild_type"));
        assert_eq!(code_key("печень+брюшина"), code_key("liver+peritoneum"));
        assert_eq!(code_key("liver, peritoneum"), code_key("liver+peritoneum"));
        assert_eq!(code_key("Тонкая кишка"), code_key("small_bowel"));
        assert_eq!(code_key("М"), code_key("M"));
        assert_eq!(code_key("female"), code_key("F"));
        assert_eq!(code_key("ЧО"), code_key("PR"));
        assert_ne!(code_key("KIT 11"), code_key("KIT9"));
    }
}
