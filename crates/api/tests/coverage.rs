//! `GET /v1/datasets/{name}/coverage` on the bundled dataset: the people
//! covered equal a maximum flow computed here (Dinic's algorithm on the
//! Karney pairs of the exact-nearest index), no AccessMod order beats the
//! optimum, small groups are suppressed, bad parameters are named.

use std::collections::VecDeque;

use actix_web::test;
use bacino_core::{FacilityIndex, FacilityKind};
use serde_json::Value;

mod common;
use common::fixture;

macro_rules! get {
    ($app:expr, $uri:expr) => {{
        let resp =
            test::call_service(&$app, test::TestRequest::get().uri(&$uri).to_request()).await;
        let status = resp.status().as_u16();
        let body: Value = test::read_body_json(resp).await;
        (status, body)
    }};
}

/// Maximum flow by Dinic's algorithm: source → residents (weight) → GPs in
/// reach (unbounded) → sink (room).
struct Dinic {
    head: Vec<Vec<usize>>,
    to: Vec<usize>,
    cap: Vec<u64>,
}

impl Dinic {
    fn new(n: usize) -> Dinic {
        Dinic {
            head: vec![Vec::new(); n],
            to: Vec::new(),
            cap: Vec::new(),
        }
    }

    fn arc(&mut self, a: usize, b: usize, c: u64) {
        self.head[a].push(self.to.len());
        self.to.push(b);
        self.cap.push(c);
        self.head[b].push(self.to.len());
        self.to.push(a);
        self.cap.push(0);
    }

    fn max_flow(&mut self, s: usize, t: usize) -> u64 {
        let n = self.head.len();
        let mut total = 0;
        loop {
            let mut level = vec![u32::MAX; n];
            level[s] = 0;
            let mut q = VecDeque::from([s]);
            while let Some(u) = q.pop_front() {
                for &e in &self.head[u] {
                    let v = self.to[e];
                    if self.cap[e] > 0 && level[v] == u32::MAX {
                        level[v] = level[u] + 1;
                        q.push_back(v);
                    }
                }
            }
            if level[t] == u32::MAX {
                return total;
            }
            let mut it = vec![0usize; n];
            loop {
                let f = self.push(s, t, u64::MAX, &level, &mut it);
                if f == 0 {
                    break;
                }
                total += f;
            }
        }
    }

    /// One blocking-flow path, iteratively (a resident → GP → sink path is
    /// short, but the residual graph can route through many residents).
    fn push(&mut self, s: usize, t: usize, limit: u64, level: &[u32], it: &mut [usize]) -> u64 {
        let mut path: Vec<usize> = Vec::new();
        let mut u = s;
        loop {
            if u == t {
                let f = path
                    .iter()
                    .map(|&e| self.cap[e])
                    .min()
                    .unwrap_or(limit)
                    .min(limit);
                for &e in &path {
                    self.cap[e] -= f;
                    self.cap[e ^ 1] += f;
                }
                return f;
            }
            let mut advanced = false;
            while it[u] < self.head[u].len() {
                let e = self.head[u][it[u]];
                let v = self.to[e];
                if self.cap[e] > 0 && level[v] == level[u] + 1 {
                    path.push(e);
                    u = v;
                    advanced = true;
                    break;
                }
                it[u] += 1;
            }
            if !advanced {
                // Dead end: retreat.
                match path.pop() {
                    None => return 0,
                    Some(e) => {
                        u = self.to[e ^ 1];
                        it[u] += 1;
                    }
                }
            }
        }
    }
}

/// People coverable within `max_m` with each GP's room `room(capacity,
/// list)`: a maximum flow over Karney pairs.
fn max_flow(max_m: f64, spare: bool) -> u64 {
    let d = fixture();
    let f = d.facilities();
    let gps = f.active_of_kind(FacilityKind::Gp);
    let index = FacilityIndex::new(f, &gps);
    let r = d.residents();
    let (nr, ng) = (r.len(), f.len());
    let (s, t) = (nr + ng, nr + ng + 1);
    let mut g = Dinic::new(nr + ng + 2);
    for (i, &p) in r.locations().iter().enumerate() {
        g.arc(s, i, r.weights()[i] as u64);
        for h in index.within(p, max_m) {
            g.arc(i, nr + h.facility as usize, u64::MAX / 4);
        }
    }
    for &j in &gps {
        let x = f.get(j);
        let cap = f64::from(x.capacity.unwrap());
        let room = if spare {
            (cap - d.list_size(j)).max(0.0)
        } else {
            cap
        };
        g.arc(nr + j as usize, t, room.floor() as u64);
    }
    g.max_flow(s, t)
}

#[actix_rt::test]
async fn covered_people_equal_a_maximum_flow_and_no_order_does_better() {
    let app = app!();
    // Room is short (spare places) and reach small: the order matters.
    for (max_m, supply) in [(3000.0, "spare")] {
        let best = max_flow(max_m, supply == "spare");
        let (status, doc) = get!(
            app,
            format!("/v1/datasets/bergamo/coverage?kind=gp&max_cost={max_m}&supply={supply}")
        );
        assert_eq!(status, 200, "{doc}");
        assert_eq!(
            doc["covered"].as_u64().unwrap(),
            best,
            "{max_m} m, {supply}"
        );
        assert_eq!(doc["optimality"]["proven"], true);
        let mut below = 0;
        for order in ["population", "capacity:asc", "id:desc", "random:1"] {
            let (status, g) = get!(
                app,
                format!("/v1/datasets/bergamo/coverage?kind=gp&max_cost={max_m}&supply={supply}&mode=accessmod&order={order}")
            );
            assert_eq!(status, 200, "{g}");
            let c = g["covered"].as_u64().unwrap();
            assert!(c <= best, "order {order} covers {c} > {best}");
            below += usize::from(c < best);
        }
        assert!(
            below > 0,
            "{max_m} m {supply}: every order reached the optimum"
        );
    }
}

#[actix_rt::test]
async fn groups_are_suppressed_and_no_resident_appears() {
    let app = app!();
    let (status, doc) = get!(
        app,
        "/v1/datasets/bergamo/coverage?kind=gp&max_cost=4000&supply=spare&group_by=municipality&min_group_size=800"
    );
    assert_eq!(status, 200, "{doc}");
    let groups = doc["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["suppressed"] == true));
    for g in groups {
        if g["suppressed"] == true {
            let keys: Vec<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
            assert!(
                keys.iter()
                    .all(|k| ["key", "name", "suppressed"].contains(k)),
                "{g}"
            );
        } else {
            assert!(g["population"].as_u64().unwrap() >= 800);
        }
    }
    for f in doc["facilities"].as_array().unwrap() {
        match f["taken"].as_u64() {
            Some(t) => assert!(t == 0 || t >= 800, "{f}"),
            None => assert!(f["room_left"].is_null()),
        }
    }
    let text = doc.to_string();
    let d = fixture();
    for i in (0..d.residents().len()).step_by(997) {
        assert!(!text.contains(d.residents().id(i)), "resident id leaked");
    }
    // A threshold below the server's is refused.
    let (status, _) = get!(
        app,
        "/v1/datasets/bergamo/coverage?kind=gp&max_cost=4000&min_group_size=2"
    );
    assert_eq!(status, 400);
}

#[actix_rt::test]
async fn bad_parameters_are_named() {
    let app = app!();
    let base = "/v1/datasets/bergamo/coverage?kind=gp";
    for (q, param) in [
        ("", "max_cost"),
        ("&max_cost=0", "max_cost"),
        ("&max_cost=-1", "max_cost"),
        ("&max_cost=x", "max_cost"),
        ("&max_cost=1000&supply=one", "supply"),
        ("&max_cost=1000&mode=greedy", "mode"),
        ("&max_cost=1000&order=id", "order"),
        ("&max_cost=1000&mode=accessmod&order=beds", "order"),
        ("&max_cost=1000&mode=accessmod&order=id:sideways", "order"),
        // The bundled facilities have no other column to order by.
        (
            "&max_cost=1000&mode=accessmod&order=column:priority",
            "order",
        ),
        ("&max_cost=1000&metric=car", "metric"),
        ("&max_cost=1000&group_by=facility", "group_by"),
    ] {
        let (status, doc) = get!(app, format!("{base}{q}"));
        assert_eq!(status, 400, "{q}: {doc}");
        assert_eq!(doc["parameter"], param, "{q}: {doc}");
    }
    let (status, doc) = get!(app, "/v1/datasets/bergamo/coverage?max_cost=1000");
    assert_eq!((status, doc["parameter"].as_str()), (400, Some("kind")));
    // Pharmacies have no capacity.
    let (status, doc) = get!(
        app,
        "/v1/datasets/bergamo/coverage?kind=pharmacy&max_cost=1000"
    );
    assert_eq!(
        (status, doc["parameter"].as_str()),
        (400, Some("supply")),
        "{doc}"
    );
    let (status, _) = get!(
        app,
        "/v1/datasets/bergamo/coverage?kind=gp&max_cost=1000&radius=3"
    );
    assert_eq!(status, 400);
    let (status, _) = get!(app, "/v1/datasets/nowhere/coverage?kind=gp&max_cost=1000");
    assert_eq!(status, 404);
}
