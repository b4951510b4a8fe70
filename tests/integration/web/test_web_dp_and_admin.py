"""DP pages (an analyst sees only their datasets and budgets) and administration pages (users,
keys, datasets, grants, audit), through the real web application."""

from __future__ import annotations

import re
from collections.abc import Callable

from dp_support import PENGUIN_CSV, PENGUIN_METADATA, grant, manager, register, unique
from support import ServerThread, TestUser, create_user
from veil_service.accounts import users
from web_support import WebSession


def test_an_analyst_sees_only_their_datasets_budgets_and_queries(
    veil_server: ServerThread, web: Callable[..., WebSession]
) -> None:
    analyst, other = create_user(veil_server), create_user(veil_server)
    mine, theirs = register(veil_server), register(veil_server)
    grant(veil_server, analyst, mine, 3.0, 1e-4)
    grant(veil_server, other, theirs, 5.0, 1e-4)
    released = (
        manager(veil_server, analyst)
        .dp(mine)
        .smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.5, 1e-5)
    )
    session = web(analyst)
    listing = session.get("/dp").text
    assert mine in listing and theirs not in listing
    page = session.get(f"/dp/{mine}")
    assert page.status_code == 200
    remaining = re.search(r"data-remaining-epsilon>([^<]+)<", page.text)
    assert remaining is not None and float(remaining.group(1)) == 2.5
    assert "smartnoise_sql" in page.text and "SELECT COUNT(*) AS n FROM df" in page.text
    # The archive shows what was released: the noisy count the client got, under its column.
    answer = re.search(r'<details class="answer">(.*?)</details>', page.text, re.S)
    assert answer is not None and '<th scope="col">n</th>' in answer.group(1)
    assert f"<td>{int(released.result.df['n'][0])}</td>" in answer.group(1)
    # The dummy preview: ten rows of the metadata's columns (no budget spent).
    assert page.text.count("<tr>") >= 10 and "bill_length_mm" in page.text
    assert (
        float(
            re.search(r"data-remaining-epsilon>([^<]+)<", session.get(f"/dp/{mine}").text).group(1)  # type: ignore[union-attr]
        )
        == 2.5
    )
    assert session.get(f"/dp/{theirs}").status_code == 404


def test_a_user_gets_no_admin_page(user: TestUser, web: Callable[..., WebSession]) -> None:
    session = web(user)
    assert 'href="/admin' not in session.get("/runs").text
    for path in ("/admin", "/admin/users", "/admin/audit", "/admin/datasets", "/admin/grants"):
        response = session.get(path)
        assert response.status_code == 403, path
        assert "admin role" in response.text
    session.get("/runs")
    refused = session.post("/admin/users", {"username": "x", "email": "x@example.org"})
    assert refused.status_code == 403


def test_an_admin_manages_users_and_keys_and_reads_the_audit_log(
    veil_server: ServerThread, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(admin)
    session.get("/admin/users")
    name = unique("web_user").lower()
    created = session.post(
        "/admin/users",
        {"username": name, "email": f"{name}@example.org", "role": "user", "password": ""},
    )
    assert created.status_code == 303
    with veil_server.app.db.connect() as conn:
        member = users.find_user(conn, name)
    assert member.active and member.role == "user"
    session.get("/admin/users")
    assert session.post(f"/admin/users/{member.id}/role", {"role": "admin"}).status_code == 303
    session.get("/admin/users")
    assert session.post(f"/admin/users/{member.id}/disable").status_code == 303
    with veil_server.app.db.connect() as conn:
        member = users.find_user(conn, name)
    assert (member.role, member.active) == ("admin", False)
    audit = session.get(f"/admin/audit?user={name}&event=user.").text
    for event in ("user.created", "user.role_changed", "user.disabled"):
        assert event in audit
    users_page = session.get("/admin/users").text
    assert f'action="/admin/users/{member.id}/enable"' in users_page
    assert session.post(f"/admin/users/{member.id}/enable").status_code == 303
    with veil_server.app.db.connect() as conn:
        assert users.find_user(conn, name).active
    assert "user.enabled" in session.get(f"/admin/audit?user={name}&event=user.").text
    assert "<code>login.ok</code>" not in session.get("/admin/audit?event=user.").text
    # Revoking another user's key.
    holder = create_user(veil_server)
    keys_page = session.get(f"/admin/users/{holder.id}").text
    key_id = re.search(r'action="/admin/keys/([^/]+)/revoke"', keys_page)
    assert key_id is not None
    assert session.post(f"/admin/keys/{key_id.group(1)}/revoke").status_code == 303
    assert web().login_with_key(holder.api_key).status_code == 401


def test_an_admin_registers_a_dataset_and_grants_a_budget(
    veil_server: ServerThread, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(admin)
    session.get("/admin/datasets")
    name = unique()
    with PENGUIN_CSV.open("rb") as data:
        response = session.post(
            "/admin/datasets",
            {"name": name, "metadata": PENGUIN_METADATA.read_text()},
            files={"file": ("penguins.csv", data, "text/csv")},
        )
    assert response.status_code == 303, response.text
    assert name in session.get("/admin/datasets").text
    analyst = create_user(veil_server)
    session.get("/admin/grants")
    granted = session.post(
        "/admin/grants",
        {"user": analyst.username, "dataset": name, "epsilon": "1.5", "delta": "0.001"},
    )
    assert granted.status_code == 303
    listing = web(analyst).get("/dp").text
    assert name in listing and "1.5" in listing
    manager(veil_server, analyst).dp(name).smartnoise_sql.query(
        "SELECT COUNT(*) AS n FROM df", 0.5, 1e-5
    )
    left = re.search(r"data-remaining-epsilon>([^<]+)<", web(analyst).get(f"/dp/{name}").text)
    assert left is not None and float(left.group(1)) == 1.0
    bad = session.post(
        "/admin/grants", {"user": analyst.username, "dataset": name, "epsilon": "-1"}
    )
    assert bad.status_code == 400 and "epsilon" in bad.text


def test_an_admin_changes_a_datasets_metadata_from_its_page(
    veil_server: ServerThread, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    name = register(veil_server)
    analyst = create_user(veil_server)
    grant(veil_server, analyst, name, 1.0, 1e-4)
    session = web(admin)
    assert f'href="/admin/datasets/{name}"' in session.get("/admin/datasets").text
    page = session.get(f"/admin/datasets/{name}")
    assert page.status_code == 200 and "upper: 65.0" in page.text  # the metadata, as YAML
    text = PENGUIN_METADATA.read_text()
    saved = session.post(
        f"/admin/datasets/{name}/metadata", {"metadata": text.replace("upper: 65.0", "upper: 70.0")}
    )
    assert saved.status_code == 303
    assert "upper: 70.0" in session.get(saved.headers["location"]).text
    assert "70.0" in web(analyst).get(f"/dp/{name}").text
    # A type change is refused, naming the column; the text typed is kept to fix it.
    retyped = text.replace("precision: 64\n    lower: 30.0", "precision: 32\n    lower: 30.0")
    assert retyped != text
    refused = session.post(f"/admin/datasets/{name}/metadata", {"metadata": retyped})
    assert refused.status_code == 400
    assert "metadata.columns.bill_length_mm" in refused.text and "precision: 32" in refused.text
    assert session.get(f"/admin/datasets/{unique()}").status_code == 404
    assert web(analyst).get(f"/admin/datasets/{name}").status_code == 403


def test_a_refused_dataset_registration_keeps_what_the_admin_typed(
    veil_server: ServerThread, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(admin)
    form = session.get("/admin/datasets").text
    # A CSV's text encoding is chosen as on the new-run form (its error names that list).
    assert re.search(r'<label for="ds-encoding">[^<]+</label>\s*<select id="ds-encoding"', form)
    name = unique()
    broken = PENGUIN_METADATA.read_text().replace("upper: 65.0", "upper: -5.0")
    with PENGUIN_CSV.open("rb") as data:
        refused = session.post(
            "/admin/datasets",
            {"name": name, "metadata": broken},
            files={"file": ("penguins.csv", data, "text/csv")},
        )
    assert refused.status_code == 400 and 'id="form-error"' in refused.text
    assert re.search(rf'id="ds-name" name="name"[^>]* value="{name}"', refused.text)
    kept = re.search(r'<textarea id="ds-meta"[^>]*>([^<]*)</textarea>', refused.text)
    assert kept is not None and "upper: -5.0" in kept.group(1)
    assert name not in session.get("/admin/datasets").text

    outside = session.post(
        "/admin/datasets/path",
        {"name": name, "path": "/etc/passwd", "metadata": broken},
    )
    assert outside.status_code in (400, 403) and 'id="form-error"' in outside.text
    assert re.search(rf'id="dp-name" name="name"[^>]* value="{name}"', outside.text)
    assert re.search(r'id="dp-path" name="path"[^>]* value="/etc/passwd"', outside.text)
    kept = re.search(r'<textarea id="dp-meta"[^>]*>([^<]*)</textarea>', outside.text)
    assert kept is not None and "upper: -5.0" in kept.group(1)


def test_refused_user_and_grant_forms_keep_what_the_admin_typed(
    veil_server: ServerThread, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(admin)
    session.get("/admin/users")
    name = f"nurse_{unique()}"
    weak = session.post(
        "/admin/users",
        {"username": name, "email": f"{name}@example.org", "role": "admin", "password": "short"},
    )
    assert weak.status_code == 400 and 'id="form-error"' in weak.text
    assert re.search(rf'id="new-username" name="username"[^>]* value="{name}"', weak.text)
    assert re.search(rf'id="new-email" name="email"[^>]* value="{name}@example.org"', weak.text)
    assert '<option value="admin" selected>' in weak.text
    assert "short" not in weak.text.split('id="new-password"')[1].split(">")[0]  # never echoed

    dataset = register(veil_server)
    analyst = create_user(veil_server)
    session.get("/admin/grants")
    refused = session.post(
        "/admin/grants",
        {"user": analyst.username, "dataset": dataset, "epsilon": "-1", "delta": "0.001"},
    )
    assert refused.status_code == 400 and "epsilon" in refused.text
    assert re.search(rf'id="g-user" name="user"[^>]* value="{analyst.username}"', refused.text)
    assert f'<option value="{dataset}" selected>' in refused.text
    assert re.search(r'id="g-eps" name="epsilon"[^>]* value="-1"', refused.text)
    assert re.search(r'id="g-delta" name="delta"[^>]* value="0.001"', refused.text)


def test_french_dp_and_grant_pages_write_numbers_the_french_way(
    veil_server: ServerThread, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    analyst = create_user(veil_server)
    dataset = register(veil_server)
    grant(veil_server, analyst, dataset, 3.0, 1e-4)
    manager(veil_server, analyst).dp(dataset).smartnoise_sql.query(
        "SELECT COUNT(*) AS n FROM df", 0.5, 1e-5
    )
    french = web(analyst).get(f"/dp/{dataset}?lang=fr").text
    assert re.search(r"data-remaining-epsilon>2,5000<", french)
    # δ: remaining / granted, and the query's cost (smartnoise spends 1.5e-05), never 8.5e-05.
    assert re.search(r"data-remaining-delta>8,5 \u00d7 10⁻⁵</strong> / 0,0001", french)
    assert '<td class="num">1,5 \u00d7 10⁻⁵</td>' in french
    # Metadata bounds as French writes them.
    assert "lower: 30,0; upper: 65,0" in french and "30.0" not in french
    grants = web(admin).get(f"/admin/grants?lang=fr&dataset={dataset}").text
    assert '<td class="num">0,0001</td>' in grants and "0.0001" not in grants
    english = web(analyst).get(f"/dp/{dataset}?lang=en").text
    assert re.search(r"data-remaining-delta>8.5e-05</strong> / 0.0001", english)
