//! The optional sentence-embedding layer (issue 14). Without the feature: a configured model
//! is refused by name, and nothing else changes. With it (`cargo test --features
//! embeddings`): a tiny BERT written by the test (a 48-word vocabulary, hidden size 8, fixed
//! pseudo-random weights) stands in for a real model, so no weights are needed: loading, its
//! errors, the stored vectors and their reuse, the model fingerprint, and `related` / `ask`
//! with and without the layer.

use std::path::Path;

use articlebot::config::Settings;

#[test]
fn no_embeddings_section_leaves_the_layer_off() {
    let s = Settings::from_toml("", Path::new(".")).unwrap();
    assert_eq!(s.embeddings.model_dir, None);
    let err = Settings::from_toml("[embeddings]\nmodel_dir = \" \"\n", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("embeddings.model_dir: empty"), "{err}");
    let err = Settings::from_toml("[embeddings]\nmodel = \"m\"\n", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("embeddings") && err.contains("model"), "{err}");
}

#[cfg(not(feature = "embeddings"))]
#[test]
fn a_model_folder_needs_the_feature() {
    let err = Settings::from_toml(
        "[embeddings]\nmodel_dir = \"models/minilm\"\n",
        Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("embeddings.model_dir") && err.contains("--features embeddings"),
        "{err}"
    );
}

#[cfg(feature = "embeddings")]
mod with_layer {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use articlebot::answer::{self, Answer, Command, Scope};
    use articlebot::config::Settings;
    use articlebot::embed::{self, Model, Weights};
    use articlebot::library::{Library, NoProgress, OpenMode};
    use candle_core::{Device, Tensor};

    use crate::util::Fixture;

    const TOKENIZER: &str = include_str!("fixtures/embed/tokenizer.json");
    const VOCAB: usize = 48;
    const HIDDEN: usize = 8;
    const INTERMEDIATE: usize = 16;

    /// Values in [-0.5, 0.5) from a fixed seed (a linear congruential generator: the same
    /// weights on every machine).
    fn values(seed: &mut u64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    /// Writes a tiny BERT model folder in `dir`: one layer, two heads, weights from `seed`.
    fn tiny_model(dir: &Path, seed: u64) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            format!(
                r#"{{"vocab_size": {VOCAB}, "hidden_size": {HIDDEN}, "num_hidden_layers": 1,
                "num_attention_heads": 2, "intermediate_size": {INTERMEDIATE},
                "max_position_embeddings": 64, "type_vocab_size": 2,
                "layer_norm_eps": 1e-12, "hidden_act": "gelu"}}"#
            ),
        )
        .unwrap();
        std::fs::write(dir.join("tokenizer.json"), TOKENIZER).unwrap();
        let mut s = seed;
        let dev = Device::Cpu;
        let mut ts: HashMap<String, Tensor> = HashMap::new();
        let mut put = |name: &str, shape: &[usize], v: Option<f32>| {
            let n: usize = shape.iter().product();
            let data = match v {
                Some(x) => vec![x; n],
                None => values(&mut s, n),
            };
            ts.insert(
                name.to_string(),
                Tensor::from_vec(data, shape, &dev).unwrap(),
            );
        };
        put("embeddings.word_embeddings.weight", &[VOCAB, HIDDEN], None);
        put("embeddings.position_embeddings.weight", &[64, HIDDEN], None);
        put(
            "embeddings.token_type_embeddings.weight",
            &[2, HIDDEN],
            None,
        );
        put("embeddings.LayerNorm.weight", &[HIDDEN], Some(1.0));
        put("embeddings.LayerNorm.bias", &[HIDDEN], Some(0.0));
        let l = "encoder.layer.0";
        for m in ["query", "key", "value"] {
            put(
                &format!("{l}.attention.self.{m}.weight"),
                &[HIDDEN, HIDDEN],
                None,
            );
            put(&format!("{l}.attention.self.{m}.bias"), &[HIDDEN], None);
        }
        put(
            &format!("{l}.attention.output.dense.weight"),
            &[HIDDEN, HIDDEN],
            None,
        );
        put(&format!("{l}.attention.output.dense.bias"), &[HIDDEN], None);
        put(
            &format!("{l}.attention.output.LayerNorm.weight"),
            &[HIDDEN],
            Some(1.0),
        );
        put(
            &format!("{l}.attention.output.LayerNorm.bias"),
            &[HIDDEN],
            Some(0.0),
        );
        put(
            &format!("{l}.intermediate.dense.weight"),
            &[INTERMEDIATE, HIDDEN],
            None,
        );
        put(
            &format!("{l}.intermediate.dense.bias"),
            &[INTERMEDIATE],
            None,
        );
        put(
            &format!("{l}.output.dense.weight"),
            &[HIDDEN, INTERMEDIATE],
            None,
        );
        put(&format!("{l}.output.dense.bias"), &[HIDDEN], None);
        put(
            &format!("{l}.output.LayerNorm.weight"),
            &[HIDDEN],
            Some(1.0),
        );
        put(&format!("{l}.output.LayerNorm.bias"), &[HIDDEN], Some(0.0));
        candle_core::safetensors::save(&ts, dir.join("model.safetensors")).unwrap();
        dir.to_path_buf()
    }

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    #[test]
    fn a_model_folder_loads_and_embeds_unit_vectors() {
        let tmp = tempfile::tempdir().unwrap();
        let model = Model::load(&tiny_model(&tmp.path().join("m"), 1)).unwrap();
        assert_eq!(model.dim(), HIDDEN);
        let v = model
            .embed(&[
                "rocket launch",
                "bread and flour in the oven",
                "rocket launch",
            ])
            .unwrap();
        assert_eq!(v.len(), 3);
        for x in &v {
            assert_eq!(x.len(), HIDDEN);
            assert!((norm(x) - 1.0).abs() < 1e-4, "{x:?}");
        }
        assert_eq!(v[0], v[2], "one text, one vector");
        assert_ne!(v[0], v[1]);
        // Padding to the batch's longest text changes no vector.
        let alone = model.embed(&["rocket launch"]).unwrap();
        for (a, b) in alone[0].iter().zip(&v[0]) {
            assert!((a - b).abs() < 1e-5, "{:?} against {:?}", alone[0], v[0]);
        }
        // Another model's weights give another fingerprint.
        let other = Model::load(&tiny_model(&tmp.path().join("n"), 2)).unwrap();
        assert_ne!(model.fingerprint(), other.fingerprint());
    }

    #[test]
    fn a_broken_model_folder_is_named_with_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let check = |dir: &Path, wants: &[&str]| {
            let err = format!("{:#}", Model::load(dir).unwrap_err());
            for w in wants {
                assert!(err.contains(w), "{w:?} not in: {err}");
            }
        };
        check(
            &tmp.path().join("absent"),
            &["embeddings.model_dir", "absent"],
        );
        let dir = tiny_model(&tmp.path().join("m"), 1);
        std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
        check(
            &dir,
            &["embeddings.model_dir", "tokenizer.json", "cannot read"],
        );
        std::fs::write(dir.join("tokenizer.json"), "{not json").unwrap();
        check(&dir, &["tokenizer.json", "not a tokenizer"]);
        let dir = tiny_model(&tmp.path().join("c"), 1);
        std::fs::write(dir.join("config.json"), r#"{"hidden_size": 8}"#).unwrap();
        check(&dir, &["config.json", "not a BERT configuration"]);
        let dir = tiny_model(&tmp.path().join("a"), 1);
        let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
        std::fs::write(
            dir.join("config.json"),
            config.replace("\"gelu\"", "\"relu\""),
        )
        .unwrap();
        check(&dir, &["config.json", "hidden_act \"relu\""]);
        // Weights of another shape than the configuration says.
        let dir = tiny_model(&tmp.path().join("w"), 1);
        std::fs::write(
            dir.join("config.json"),
            config.replace("\"intermediate_size\": 16", "\"intermediate_size\": 32"),
        )
        .unwrap();
        check(&dir, &["model.safetensors", "does not fit config.json"]);
        std::fs::write(dir.join("model.safetensors"), b"garbage").unwrap();
        check(&dir, &["model.safetensors"]);
    }

    const ARTICLES: &[(&str, &str)] = &[
        ("rockets.md", "# Rockets\n\nA rocket engine burns fuel to launch into orbit.\n\nThe launch of a rocket to the moon.\n"),
        ("orbits.md", "# Orbits\n\nA planet in orbit of a star. The moon is in orbit.\n"),
        ("bread.md", "# Bread\n\nFlour, water, salt and yeast make a dough; bake it in the oven.\n"),
        ("baking.md", "# Baking\n\nThe oven bakes the dough. Flour and yeast.\n"),
        ("garden.md", "# Garden\n\nA seed in the soil; rain and sun make the plant and the tree grow.\n"),
        ("trees.md", "# Trees\n\nA tree drops a leaf in the rain. The soil of the garden.\n"),
        ("stars.md", "# Stars\n\nA star is a sun. A planet has an orbit round a star.\n"),
    ];

    fn fixture() -> Fixture {
        let f = Fixture::new();
        for (path, text) in ARTICLES {
            f.write(path, text);
        }
        f
    }

    fn with_model(mut s: Settings, dir: &Path) -> Settings {
        s.embeddings.model_dir = Some(dir.to_path_buf());
        s
    }

    fn related(lib: &Library, s: &Settings, slug: &str) -> Vec<(String, f32)> {
        match answer::execute(
            lib,
            &s.answer,
            &Command::Related {
                article: slug.into(),
            },
        )
        .unwrap()
        {
            Answer::Related(r) => r.related.into_iter().map(|i| (i.slug, i.score)).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn ask(lib: &Library, s: &Settings, q: &str) -> answer::AskAnswer {
        match answer::execute(
            lib,
            &s.answer,
            &Command::Ask {
                question: q.into(),
                scope: Scope::Collection,
            },
        )
        .unwrap()
        {
            Answer::Ask(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_a_model_dir_no_layer_is_attached() {
        let f = fixture();
        let s = f.settings();
        let mut lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&s, &mut lib, None).unwrap();
        assert!(lib.embeddings().is_none());
    }

    #[test]
    fn related_blends_the_dense_cosine_when_attached_and_is_lexical_when_not() {
        let f = fixture();
        let model = tiny_model(&f.dir.path().join("model"), 7);
        let s = with_model(f.settings(), &model);
        let plain = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        let mut lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&s, &mut lib, None).unwrap();
        let layer = lib.embeddings().expect("a layer").with_weights(Weights {
            related: 1.0,
            ..Weights::default()
        });
        assert_eq!(layer.article_count(), ARTICLES.len());
        assert_eq!(layer.passage_count(), lib.passages.len());
        // Wholly dense: the order of the article vectors' cosine, ties by id.
        let id = lib.by_slug("rockets").unwrap();
        let sims = layer.article_similarities(id);
        let mut want: Vec<u32> = (0..lib.articles.len() as u32)
            .filter(|&o| o != id)
            .collect();
        want.sort_by(|&a, &b| {
            sims[b as usize]
                .total_cmp(&sims[a as usize])
                .then(a.cmp(&b))
        });
        let want: Vec<String> = want[..5]
            .iter()
            .map(|&o| lib.article(o).slug.clone())
            .collect();
        lib.set_embeddings(Some(Arc::new(layer)));
        let got = related(&lib, &s, "rockets");
        assert_eq!(got.iter().map(|g| g.0.clone()).collect::<Vec<_>>(), want);
        assert_eq!(got.len(), s.answer.related, "always the configured number");
        // Without the layer, the answer is the lexical one exactly.
        lib.set_embeddings(None);
        assert_eq!(related(&lib, &s, "rockets"), related(&plain, &s, "rockets"));
        for slug in ["bread", "garden", "stars"] {
            assert_eq!(related(&lib, &s, slug), related(&plain, &s, slug));
        }
    }

    #[test]
    fn ask_reorders_by_the_dense_cosine_only_with_weight() {
        let f = fixture();
        let model = tiny_model(&f.dir.path().join("model"), 3);
        let s = with_model(f.settings(), &model);
        let plain = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        let mut lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&s, &mut lib, None).unwrap();
        let layer = lib.embeddings().unwrap().with_weights(Weights::default());
        let questions = [
            "how does a rocket launch into orbit?",
            "what is in the dough?",
        ];
        // Weight 0: the BM25 order, so the lexical answer exactly.
        lib.set_embeddings(Some(Arc::new(layer.with_weights(Weights {
            ask: 0.0,
            ..Weights::default()
        }))));
        for q in questions {
            assert_eq!(ask(&lib, &s, q), ask(&plain, &s, q), "{q}");
        }
        // Weight 1: a score per passage is its cosine with the question (the scores the
        // sentence ranking starts from), and answers still come.
        lib.set_embeddings(Some(Arc::new(layer.with_weights(Weights {
            ask: 1.0,
            ..Weights::default()
        }))));
        for q in questions {
            assert!(!ask(&lib, &s, q).results.is_empty(), "{q}");
        }
    }

    #[test]
    fn vectors_are_stored_beside_the_index_and_reused_by_text() {
        let f = fixture();
        let model = tiny_model(&f.dir.path().join("model"), 5);
        let s = with_model(f.persisted(), &model);
        let mut lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&s, &mut lib, None).unwrap();
        let first = lib.embeddings().unwrap();
        assert_eq!(first.embedded(), lib.passages.len());
        // Every passage was read to be embedded, and no body stays in memory for it.
        assert!(
            lib.articles
                .iter()
                .all(|a| a.sections.iter().all(|s| !s.blocks.is_loaded())),
            "the bodies the layer read are let go"
        );
        assert!(!lib.passage_text(0).is_empty(), "and read again on use");
        let path = embed::cache_path(&s.index).unwrap();
        assert!(path.is_file(), "{} written", path.display());
        assert!(
            !path.starts_with(f.dir.path().join("index")),
            "not inside the index folder, which holds only the index build's files"
        );
        // A new start: the stored vectors, nothing embedded.
        let mut again = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&s, &mut again, None).unwrap();
        let second = again.embeddings().unwrap();
        assert_eq!(second.embedded(), 0);
        for p in 0..lib.passages.len() as u32 {
            assert_eq!(first.passage(p), second.passage(p));
        }
        // An update: only the changed article's passages are embedded again.
        f.write(
            "bread.md",
            "# Bread\n\nRye flour and salt; bake the bread in a hot oven.\n",
        );
        let mut updated = Library::update(&s, &again, &NoProgress).unwrap();
        embed::attach(&s, &mut updated, Some(&again)).unwrap();
        let layer = updated.embeddings().unwrap();
        let bread = updated.by_slug("bread").unwrap();
        assert!(layer.embedded() > 0);
        assert!(
            layer.embedded() <= updated.passages_of(bread).len(),
            "{}",
            layer.embedded()
        );
        assert_eq!(layer.passage_count(), updated.passages.len());
        // Unchanged articles keep their vectors.
        let rockets = updated.by_slug("rockets").unwrap();
        let old_rockets = again.by_slug("rockets").unwrap();
        assert_eq!(layer.article(rockets), second.article(old_rockets));
        // A damaged stored file is embedded again, not an error.
        std::fs::write(&path, b"damaged").unwrap();
        let mut fresh = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&s, &mut fresh, None).unwrap();
        assert_eq!(fresh.embeddings().unwrap().embedded(), fresh.passages.len());
    }

    #[test]
    fn another_models_stored_vectors_are_not_used() {
        let f = fixture();
        let a = tiny_model(&f.dir.path().join("a"), 11);
        let b = tiny_model(&f.dir.path().join("b"), 12);
        let sa = with_model(f.persisted(), &a);
        let mut lib = Library::open(&sa, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&sa, &mut lib, None).unwrap();
        let by_a = lib.embeddings().unwrap().passage(0).to_vec();
        let sb = with_model(f.persisted(), &b);
        let mut other = Library::open(&sb, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&sb, &mut other, None).unwrap();
        let layer = other.embeddings().unwrap();
        assert_eq!(
            layer.embedded(),
            other.passages.len(),
            "nothing of model a reused"
        );
        assert_ne!(layer.passage(0), &by_a[..]);
        assert_eq!(layer.cache().model, Model::load(&b).unwrap().fingerprint());
        // Model a's layer handed over in memory is not used either.
        let mut third = Library::open(&sb, OpenMode::Reuse, &NoProgress).unwrap();
        embed::attach(&sb, &mut third, Some(&lib)).unwrap();
        assert_eq!(third.embeddings().unwrap().passage(0), layer.passage(0));
    }

    #[test]
    fn a_config_names_the_model_folder_relative_to_itself() {
        let s = Settings::from_toml(
            "[embeddings]\nmodel_dir = \"models/minilm\"\n",
            Path::new("/srv/bot"),
        )
        .unwrap();
        assert_eq!(
            s.embeddings.model_dir,
            Some(PathBuf::from("/srv/bot/models/minilm"))
        );
    }
}
