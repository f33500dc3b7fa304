"""One person, many records: overlapping identifiers, traps, and the truth file that scores them."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from guanxi.demo.accounts import PLATFORMS
from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports import ExportedFile
from guanxi.demo.orders import COURIER_PHONE, SHOP_PHONE
from guanxi.demo.profiles import PLACEHOLDER_PHONE, TRAP_EMAIL
from tests.demo.identifiers import email_key, phone_key

Seen = dict[str, set[tuple[str, int]]]


def _phones(data: DemoDataset) -> Seen:
    """Normalised phone → {(source, person_id)} over every order and customer list."""
    pid = data.people.person_id
    seen: Seen = defaultdict(set)
    orders = data.orders
    for platform, phone, buyer in zip(orders.platform, orders.phone.to_pylist(), orders.buyer, strict=True):
        if key := phone_key(phone):
            seen[key].add((PLATFORMS[platform], int(pid[buyer])))
    for source, table in (("crm", data.crm), ("sales", data.sales)):
        for phone, slot in zip(
            table.column("phone").to_pylist(), table.column("person").to_numpy(), strict=True
        ):
            if key := phone_key(phone):
                seen[key].add((source, int(pid[slot])))
    return seen


def _email_owners(data: DemoDataset) -> Seen:
    """Normalised e-mail → {(source, person_id)} over the CRM and the sales sheet."""
    pid = data.people.person_id
    seen: Seen = defaultdict(set)
    for source, table in (("crm", data.crm), ("sales", data.sales)):
        for value, slot in zip(
            table.column("email").to_pylist(), table.column("person").to_numpy(), strict=True
        ):
            if key := email_key(value):
                seen[key].add((source, int(pid[slot])))
    return seen


def test_a_person_shares_one_mobile_across_two_platforms(demo_data: DemoDataset) -> None:
    seen = _phones(demo_data)
    same_person = [
        k
        for k, owners in seen.items()
        if len({p for _, p in owners}) == 1 and len({s for s, _ in owners} & set(PLATFORMS)) >= 2
    ]
    assert len(same_person) >= 20


def test_a_follower_shares_a_unionid_with_a_crm_member_who_has_email_and_mobile(
    demo_data: DemoDataset,
) -> None:
    crm = demo_data.crm
    complete = crm.filter(pc.and_(pc.is_valid(crm.column("email")), pc.is_valid(crm.column("phone"))))
    member_unionids = set(complete.column("wechat_unionid").drop_null().to_pylist())
    follower_unionids = set(demo_data.followers.column("wechat_unionid").drop_null().to_pylist())
    assert len(member_unionids & follower_unionids) >= 20


def test_records_chain_through_email_then_unionid(demo_data: DemoDataset) -> None:
    # given Shopify buyers (known by e-mail), CRM members (e-mail, unionid) and followers (unionid)
    pid = demo_data.people.person_id
    orders = demo_data.orders
    shopify = orders.of(3)
    shopify_email = {
        email_key(e): int(pid[b])
        for e, b in zip(orders.customer_id.take(shopify).to_pylist(), orders.buyer[shopify], strict=True)
    }
    followers = demo_data.followers
    follower_unionid = {
        u: int(pid[s])
        for u, s in zip(
            followers.column("wechat_unionid").to_pylist(), followers.column("person").to_numpy(), strict=True
        )
        if u
    }
    crm = demo_data.crm
    members = zip(
        crm.column("email").to_pylist(),
        crm.column("wechat_unionid").to_pylist(),
        pid[crm.column("person").to_numpy()],
        strict=True,
    )
    # then some person is linked A (Shopify) –e-mail– B (CRM) –unionid– C (WeChat)
    chains = [
        person
        for email, unionid, person in members
        if email
        and unionid
        and shopify_email.get(email_key(email)) == person == follower_unionid.get(unionid)
    ]
    assert len(chains) >= 3


def test_phones_come_in_many_spellings(demo_data: DemoDataset) -> None:
    spellings = (
        demo_data.sales.column("phone").drop_null().to_pylist()
        + demo_data.orders.phone.drop_null().to_pylist()
    )
    assert any(s.startswith("+86 ") for s in spellings)
    assert any(s.startswith("0086") for s in spellings)
    assert any("-" in s and not s.startswith("0086") for s in spellings)
    assert any("１" in s or "３" in s for s in spellings)
    assert any("****" in s for s in spellings)
    emails = demo_data.crm.column("email").drop_null().to_pylist()
    assert any(e != e.lower() for e in emails if e != TRAP_EMAIL)


def test_shared_numbers_and_test_addresses_belong_to_many_people(demo_data: DemoDataset) -> None:
    seen = _phones(demo_data)
    for trap in (COURIER_PHONE, SHOP_PHONE, PLACEHOLDER_PHONE):
        assert len({p for _, p in seen[trap]}) >= 10, trap
    emails = _email_owners(demo_data)
    assert len({p for _, p in emails[TRAP_EMAIL]}) >= 20


def test_truth_names_every_record_once(demo_data: DemoDataset, demo_files: dict[str, ExportedFile]) -> None:
    truth = pq.read_table(demo_files["truth.parquet"].path)
    assert truth.column_names == ["source", "source_customer_id", "person_id"]
    pairs = list(
        zip(truth.column("source").to_pylist(), truth.column("source_customer_id").to_pylist(), strict=True)
    )
    assert len(pairs) == len(set(pairs))
    assert set(truth.column("source").to_pylist()) == {*PLATFORMS, "crm", "sales", "wechat", "service", "web"}
    assert set(truth.column("person_id").to_numpy()) <= set(demo_data.people.person_id.tolist())


def test_truth_holds_people_with_records_in_several_sources(demo_data: DemoDataset) -> None:
    truth = demo_data.truth()
    sources_per_person: dict[int, set[str]] = defaultdict(set)
    for source, person in zip(
        truth.column("source").to_pylist(), truth.column("person_id").to_pylist(), strict=True
    ):
        sources_per_person[person].add(source)
    spread = np.array([len(s) for s in sources_per_person.values()])
    assert (spread >= 2).mean() > 0.2
    assert spread.max() >= 5


def test_truth_matches_the_platform_ids_in_the_order_files(demo_data: DemoDataset) -> None:
    truth = demo_data.truth()
    taobao = truth.filter(pc.equal(truth.column("source"), "taobao"))
    owner = dict(
        zip(
            taobao.column("source_customer_id").to_pylist(),
            taobao.column("person_id").to_pylist(),
            strict=True,
        )
    )
    orders = demo_data.orders
    rows = orders.of(0)
    nicks = orders.customer_id.take(rows).to_pylist()
    buyers = demo_data.people.person_id[orders.buyer[rows]]
    assert all(owner[n] == b for n, b in zip(nicks, buyers, strict=True))
