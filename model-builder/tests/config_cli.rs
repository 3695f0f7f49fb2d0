//! `model-builder config check|show|compile` as a user runs them.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn mb(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_model-builder"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn write(root: &Path, rel: &str, body: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

#[test]
fn the_demo_configuration_is_valid_and_compiles() {
    let o = mb(&["config", "check", "config"], &repo());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = mb(&["config", "compile", "--dir", "config"], &repo());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg = upsell_edge::config::CompiledConfig::from_json(&o.stdout).unwrap();
    assert_eq!(cfg.brands.len(), 2);
    for b in cfg.brands.values() {
        assert_eq!(b.by_region.keys().collect::<Vec<_>>(), ["eu", "row", "uk"]);
    }
    assert_eq!(cfg.version.len(), 16);
    // Only homewares × uk is overridden.
    let hw = &cfg.brands["homewares"];
    assert_ne!(
        hw.by_region["uk"].offers.count,
        hw.by_region["eu"].offers.count
    );
    assert_eq!(hw.by_region["eu"], hw.by_region["row"]);
    let gifts = &cfg.brands["gifts"];
    assert_eq!(gifts.by_region["uk"], gifts.by_region["eu"]);
    assert_ne!(hw.by_region["eu"].style, gifts.by_region["eu"].style);
    let again = mb(&["config", "compile", "--dir", "config"], &repo());
    assert_eq!(
        o.stdout, again.stdout,
        "same files, same compiled bytes and version"
    );
}

#[test]
fn show_prints_every_value_with_its_source() {
    let o = mb(
        &[
            "config",
            "show",
            "--dir",
            "config",
            "--brand",
            "homewares",
            "--region",
            "uk",
        ],
        &repo(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let line = |k: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{k} = ")))
            .unwrap_or_else(|| panic!("{k} in {out}"))
            .to_string()
    };
    assert!(line("offers.count")
        .contains("# brand homewares × region uk (config/brands/homewares/uk.toml:"));
    assert!(line("offers.price_max").contains("# brand homewares (config/brands/homewares.toml:"));
    assert!(line("budget.time_ms").contains("# platform (config/platform.toml:"));
    assert!(line("regions.countries.GB").contains("= \"uk\""));
    let o = mb(
        &[
            "config",
            "show",
            "--dir",
            "config",
            "--brand",
            "homewares",
            "--region",
            "mars",
        ],
        &repo(),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no region `mars`"));
}

#[test]
fn check_names_every_problem_with_file_line_and_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "cfg/platform.toml",
        "[regions]\ndefault = \"row\"\n[regions.countries]\nGB = \"uk\"\n\n[offers]\ncuont = 3\n",
    );
    write(
        d,
        "cfg/brands/a.toml",
        "hosts = [\"shop.localhost\"]\n[cart]\nurl_template = \"/add?item={product}\"\n\n[[experiments]]\nid = \"x\"\nsalt = \"s\"\nstart = 2026-01-01T00:00:00Z\narms = [{ name = \"ai\", weight = 0.5 }, { name = \"holdout\", weight = 0.4 }]\n",
    );
    write(d, "cfg/brands/b.toml", "hosts = [\"*.localhost\"]\n");
    write(d, "cfg/brands/b/apac.toml", "[offers]\ncount = 2\n");
    write(d, "cfg/brands/b/uk.toml", "[offers]\ncount = \"two\"\n");
    let o = mb(&["config", "check", "cfg"], d);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    for want in [
        "error: cfg/platform.toml:7: offers.cuont: unknown key `cuont`",
        "error: cfg/brands/a.toml:3: cart.url_template: `/add?item={product}` uses unknown placeholder `{product}`",
        "error: cfg/brands/a.toml:1: hosts[0]: host `shop.localhost` overlaps `*.localhost`",
        "error: cfg/brands/b.toml:1: hosts[0]: host `*.localhost` overlaps `shop.localhost`",
        "error: cfg/brands/a.toml:9: experiments[0].arms: arm weights sum to 0.9, not 1",
        "error: cfg/brands/a.toml:5: experiments[0].thresholds: experiment `x` started at 2026-01-01T00:00:00Z but has no pre-registered thresholds",
        "error: cfg/brands/b/apac.toml: region `apac` is not a region of brand `b`",
        "error: cfg/brands/b/uk.toml:2: offers.count: invalid type: string \"two\"",
    ] {
        assert!(err.contains(want), "missing\n  {want}\nin\n{err}");
    }
    assert!(
        err.contains("error: 8 configuration problem(s)"),
        "exactly the eight above:\n{err}"
    );

    // Naming one file shows only that file's problems.
    let o = mb(&["config", "check", "cfg/brands/b/uk.toml"], d);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("cfg/brands/b/uk.toml:2: offers.count"),
        "{err}"
    );
    assert!(!err.contains("platform.toml"), "{err}");
}

#[test]
fn syntax_errors_and_stray_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cfg/platform.toml", "[offers\ncount = 3\n");
    write(d, "cfg/brands/a.json", "{\"hosts\": [\"a.localhost\"]}");
    write(d, "cfg/brand/typo.toml", "");
    write(d, "cfg/brands/ghost/uk.toml", "");
    write(d, "cfg/README.md", "ignored");
    let o = mb(&["config", "check", "cfg"], d);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("cfg/platform.toml:1: not valid TOML"), "{err}");
    assert!(err.contains("cfg/brand: unexpected here"), "{err}");
    assert!(
        err.contains("cfg/brands/ghost/uk.toml: override for brand `ghost`"),
        "{err}"
    );
    assert!(!err.contains("README"), "{err}");
}

#[test]
fn a_started_experiment_is_locked_and_cannot_change() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let experiment = |weights: (f64, f64, f64), start: &str| {
        format!(
            "hosts = [\"a.localhost\"]\n\n[[experiments]]\nid = \"x1\"\nsalt = \"s\"\nstart = \"{start}\"\narms = [{{ name = \"ai\", weight = {} }}, {{ name = \"curated\", weight = {} }}, {{ name = \"holdout\", weight = {} }}]\n[experiments.thresholds]\nmin_lift_ai_over_curated = 0.05\nmin_attach_rate = 0.01\nmin_revenue_per_1000_orders = 10.0\nalpha = 0.05\nmin_sample = 100\n",
            weights.0, weights.1, weights.2
        )
    };
    write(d, "cfg/platform.toml", "");
    // Not started yet: no lock needed.
    write(
        d,
        "cfg/brands/a.toml",
        &experiment((0.8, 0.1, 0.1), "2999-01-01T00:00:00Z"),
    );
    assert!(mb(&["config", "check", "cfg"], d).status.success());

    write(
        d,
        "cfg/brands/a.toml",
        &experiment((0.8, 0.1, 0.1), "2026-01-01T00:00:00Z"),
    );
    let o = mb(&["config", "check", "cfg"], d);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("cfg/brands/a.toml:3: experiments[0]: experiment `x1` started at 2026-01-01T00:00:00Z but is not recorded in experiments.lock"), "{err}");

    let o = mb(&["config", "lock", "--dir", "cfg"], d);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("locked 1 started experiment(s): x1"));
    assert!(mb(&["config", "check", "cfg"], d).status.success());

    // Any change after the start is refused, and `lock` does not overwrite the record.
    write(
        d,
        "cfg/brands/a.toml",
        &experiment((0.7, 0.2, 0.1), "2026-01-01T00:00:00Z"),
    );
    let o = mb(&["config", "check", "cfg"], d);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("experiments[0]: experiment `x1` changed after it started"),
        "{err}"
    );
    assert!(mb(&["config", "lock", "--dir", "cfg"], d).status.success());
    assert_eq!(
        mb(&["config", "check", "cfg"], d).status.code(),
        Some(1),
        "lock never rewrites an entry"
    );
    let o = mb(&["config", "compile", "--dir", "cfg"], d);
    assert!(!o.status.success(), "nothing invalid compiles");
}

#[test]
fn the_demo_configuration_routes_each_host_and_country_to_its_own_brand_and_region() {
    use upsell_edge::route::route;
    let o = mb(&["config", "compile", "--dir", "config"], &repo());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg = upsell_edge::config::CompiledConfig::from_json(&o.stdout).unwrap();
    let go = |host: &str, country: Option<&str>| {
        let r = route(&cfg, "GET", host, "/order-confirmation", country)
            .unwrap_or_else(|| panic!("{host} {country:?}"));
        (
            r.brand,
            r.region,
            r.settings.style.accent.clone(),
            r.settings.offers.count,
            r.settings.style.heading.clone(),
        )
    };
    let hw_uk = go("homewares.localhost:8787", Some("GB"));
    let hw_eu = go("homewares.localhost:8787", Some("FR"));
    let hw_row = go("www.homewares.localhost", Some("US"));
    let gi_uk = go("gifts.localhost:8787", Some("GB"));
    let gi_eu = go("gifts.localhost", Some("DE"));
    let gi_row = go("gifts.localhost", None);
    assert_eq!(
        (hw_uk.0, hw_uk.1, hw_eu.1, hw_row.1),
        ("homewares", "uk", "eu", "row")
    );
    assert_eq!(
        (gi_uk.0, gi_uk.1, gi_eu.1, gi_row.1),
        ("gifts", "uk", "eu", "row")
    );
    assert_eq!(hw_uk.2, "#2a6f4e");
    assert_eq!(gi_uk.2, "#b0306a");
    // The one brand × region override (homewares × uk) changes only that cell.
    assert_eq!((hw_uk.3, hw_eu.3, hw_row.3), (4, 3, 3));
    assert_ne!(hw_uk.4, hw_eu.4);
    assert_eq!(hw_eu.4, hw_row.4);
    assert_eq!((gi_uk.3, gi_uk.4.clone()), (gi_eu.3, gi_eu.4.clone()));
    assert!(route(&cfg, "GET", "homewares.localhost", "/cart", Some("GB")).is_none());
    assert!(route(
        &cfg,
        "POST",
        "homewares.localhost",
        "/order-confirmation",
        Some("GB")
    )
    .is_none());
    assert!(route(
        &cfg,
        "GET",
        "localhost:8787",
        "/order-confirmation",
        Some("GB")
    )
    .is_none());
}
