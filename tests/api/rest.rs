//! `GET /api/repos`, byte-compatible with the old system.
use crate::helpers::spawn_app;
use crate::seed::{month, seed, SeedRepo};

#[tokio::test]
async fn rest_pages_in_the_old_shape() {
    let app = spawn_app().await;
    seed(
        &app.db,
        &[
            SeedRepo {
                owner: "facebook".into(),
                name: "react".into(),
                months: vec![(month(2016, 1), 2, 1), (month(2016, 3), 1, 0)],
            },
            SeedRepo {
                owner: "facebook".into(),
                name: "buck".into(),
                months: vec![(month(2016, 1), 1, 0), (month(2016, 2), 0, 2)],
            },
            SeedRepo {
                owner: "facebook".into(),
                name: "facebook-android-sdk".into(),
                months: vec![(month(2016, 1), 1, 0)],
            },
        ],
    )
    .await;
    let get = |q: &str| app.http.get(app.url(&format!("/api/repos{q}"))).send();
    let response = get("?page=1&page_size=3").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        "{\"items\":[{\"month\":\"2016-01-01\",\"number_of_new_contributors\":1,\"repo_name\":\"buck\"},\
         {\"month\":\"2016-01-01\",\"number_of_new_contributors\":1,\"repo_name\":\"facebook-android-sdk\"},\
         {\"month\":\"2016-01-01\",\"number_of_new_contributors\":2,\"repo_name\":\"react\"}],\
         \"page\":1,\"page_size\":3,\"total_records\":4}\n"
    );
    let second: serde_json::Value = get("?page=2&page_size=3").await.unwrap().json().await.unwrap();
    assert_eq!(
        second["items"],
        serde_json::json!([{"month": "2016-03-01", "number_of_new_contributors": 1, "repo_name": "react"}])
    );
    let beyond: serde_json::Value = get("?page=9&page_size=3").await.unwrap().json().await.unwrap();
    assert_eq!(beyond["items"], serde_json::json!([]));
    assert_eq!(beyond["total_records"], 4);
    let far: serde_json::Value = get("?page=18446744073709551615&page_size=100").await.unwrap().json().await.unwrap();
    assert_eq!((far["items"].clone(), far["total_records"].as_i64()), (serde_json::json!([]), Some(4)));
    let defaults: serde_json::Value = get("").await.unwrap().json().await.unwrap();
    assert_eq!((defaults["page"].as_i64(), defaults["page_size"].as_i64()), (Some(1), Some(10)));
    // Every page size walks the same list, in the same order.
    let all: serde_json::Value = get("?page_size=100").await.unwrap().json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    for size in 1..=5 {
        let mut seen = Vec::new();
        for page in 1..=5 {
            let body: serde_json::Value =
                get(&format!("?page={page}&page_size={size}")).await.unwrap().json().await.unwrap();
            seen.extend(body["items"].as_array().unwrap().iter().cloned());
        }
        assert_eq!(&seen, all["items"].as_array().unwrap(), "page size {size}");
    }
}

#[tokio::test]
async fn rest_rejects_bad_parameters() {
    let app = spawn_app().await;
    for q in ["?page=0", "?page=-1", "?page=abc", "?page_size=0", "?page_size=101", "?page_size=1.5"] {
        let response = app.http.get(app.url(&format!("/api/repos{q}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{q}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error_code"], "00001", "{q}");
        assert!(body["description"].as_str().unwrap().contains("page"), "{q}");
    }
}
