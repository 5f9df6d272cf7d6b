//! `clearfleet releases`: the ClearML release data in use, as a table an operator can check
//! against upstream.

use clearfleet_clearml::Releases;

/// The releases (eras of equal pins), the hops with their pinned images, and their sources.
pub fn releases_table(r: &Releases, origin: &str) -> String {
    let mut s = format!("Release data: {origin}\nDefault target: {}\n\n", r.latest);
    s.push_str("RELEASES         SERVER IMAGE                     ELASTICSEARCH  MONGO   REDIS  ROOT          SOURCE\n");
    for e in &r.eras {
        let range = if e.from == e.to {
            e.from.to_string()
        } else {
            format!("{} – {}", e.from, e.to)
        };
        s.push_str(&format!(
            "{range:<16} {:<32} {:<14} {:<7} {:<6} {:<13} {}\n",
            e.server_image,
            e.elasticsearch,
            e.mongo,
            e.redis.as_deref().unwrap_or("-"),
            e.root,
            e.source.as_deref().unwrap_or("-"),
        ));
    }
    s.push_str("\nHOPS     SERVER IMAGE (pinned)            ELASTICSEARCH  MONGO (FCV)     REDIS  COMPOSE FILE\n");
    for h in &r.hops {
        s.push_str(&format!(
            "{:<8} {:<32} {:<14} {:<15} {:<6} {}\n",
            h.version.to_string(),
            h.server_image,
            h.elasticsearch,
            format!("{} ({})", h.mongo, h.mongo_fcv),
            h.redis,
            h.compose_url,
        ));
        if let Some(src) = &h.source {
            s.push_str(&format!("         source: {src}\n"));
        }
    }
    for a in &r.announced {
        s.push_str(&format!(
            "\nANNOUNCED {}: not a target. Known: {}. Unknown: {}.\n",
            a.version, a.known, a.unknown
        ));
    }
    s.push_str(&format!(
        "\nElasticsearch 5 → 7 migration kit: {} ({})\n",
        r.es_migration.asset, r.es_migration.url
    ));
    s
}
