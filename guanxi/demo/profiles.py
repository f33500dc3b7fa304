"""Customer lists kept outside the shops: CRM members, the sales team's contacts, WeChat followers.

* **CRM** (source ``crm``): members with a member number, mostly clean data; a
  unionid for members who also use the brand's WeChat apps; placeholder phone
  ``13800138000`` and ``test@test.com`` typed for some members (shared traps).
* **Sales contacts** (source ``sales``): a hand-kept spreadsheet, phones in every
  spelling, e-mails in capitals, company and title, a placeholder number.
* **WeChat followers** (source ``wechat``): the service account's followers by
  openid, the unionid where the account is bound to the open platform.

Each builder returns an Arrow table with canonical column names plus
``person`` (the slot, for the truth file) and realistic extra columns.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from guanxi.demo import naming
from guanxi.demo import textcols as tc
from guanxi.demo.accounts import MP_APPID, Accounts
from guanxi.demo.people import TRAP_MOBILES, People
from guanxi.demo.phones import PhoneStyle, styles, write_emails, write_phones
from guanxi.demo.randomness import choice, unique_ints

TRAP_EMAIL = "test@test.com"
PLACEHOLDER_PHONE, SALES_PLACEHOLDER = TRAP_MOBILES[0], TRAP_MOBILES[1]
LEVELS = ("普通会员", "银卡会员", "金卡会员", "钻石会员")
SIGNUP_CHANNELS = ("小程序", "门店", "官网", "公众号", "天猫会员通", "导购邀请")
SALES_REPS = ("王磊", "陈静", "刘洋", "赵敏", "孙浩")
SALES_NOTES = (
    "2024年深圳礼品展认识",
    "老客户介绍",
    "官网留资",
    "电话咨询团购",
    "企业福利采购",
    "展会名片",
    "微信群转介绍",
    "需要开专票",
    "年底礼盒需求",
    "",
)
SCENES = (
    ("ADD_SCENE_QR_CODE", 45.0),
    ("ADD_SCENE_SEARCH", 15.0),
    ("ADD_SCENE_PROFILE_CARD", 12.0),
    ("ADD_SCENE_ACCOUNT_MIGRATION", 3.0),
    ("ADD_SCENE_WECHAT_ADVERTISEMENT", 10.0),
    ("ADD_SCENE_OTHERS", 15.0),
)


def _traps(rng: np.random.Generator, size: int) -> npt.NDArray[np.bool_]:
    """Rows that get a shared placeholder: enough to exceed any sane sharing limit, at most a tenth."""
    mask = np.zeros(size, dtype=np.bool_)
    count = min(max(25, size // 250), size // 10)
    mask[rng.permutation(size)[:count]] = True
    return mask


def _registered(
    rng: np.random.Generator, first_order: npt.NDArray[np.int64], start: int, end: int
) -> npt.NDArray[np.int64]:
    """Sign-up time: up to 200 days before a buyer's first order, anywhere in history otherwise."""
    size = len(first_order)
    before = first_order - rng.integers(0, 200 * 86_400, size)
    anywhere = rng.integers(start - 365 * 86_400, end, size)
    result: npt.NDArray[np.int64] = np.where(first_order >= 0, before, anywhere)
    return result


def _broken_emails(rng: np.random.Generator, emails: tc.Column, share: float) -> tc.Column:
    """A few addresses mistyped (missing top-level domain, @ lost)."""
    size = len(emails)
    u = rng.random(size)
    no_tld = pc.replace_substring_regex(emails, r"\.[a-z]+$", "")
    no_at = pc.replace_substring(emails, "@", ".")
    out = tc.where(u < share / 2, no_tld, emails)
    return tc.where((u >= share / 2) & (u < share), no_at, out)


def crm_members(
    rng: np.random.Generator,
    people: People,
    accounts: Accounts,
    first_order: npt.NDArray[np.int64],
    start: int,
    end: int,
) -> pa.Table:
    """The CRM's member table (one row per member)."""
    slot = np.flatnonzero(accounts.member)
    n = len(slot)
    registered = _registered(rng, first_order[slot], start, end)
    updated = np.minimum(registered + rng.integers(0, 400 * 86_400, n), end)
    style = styles(
        rng,
        n,
        {PhoneStyle.PLAIN: 0.85, PhoneStyle.PLUS86: 0.05, PhoneStyle.SPACED: 0.03, PhoneStyle.MISSING: 0.07},
    )
    phone = write_phones(people.mobile.take(slot), style)
    phone = tc.where(_traps(rng, n), PLACEHOLDER_PHONE, phone)
    email = write_emails(people.email.take(slot), rng, upper=0.06, padded=0.02)
    email = _broken_emails(rng, email, 0.005)
    email = tc.nullify(email, ~(accounts.uses_email[slot] & (rng.random(n) < 0.75)))
    email = tc.where(_traps(rng, n), TRAP_EMAIL, email)
    app_user = accounts.follower[slot] | accounts.mini_user[slot]
    unionid = tc.nullify(
        accounts.unionid.take(slot), ~(app_user & accounts.unionid_known[slot] & (rng.random(n) < 0.65))
    )
    gender = tc.pick(
        ("男", "女", "未知"), np.where(rng.random(n) < 0.04, 2, people.female[slot].astype(np.int64))
    )
    birthday = pa.array(people.birthday[slot], type=pa.date32())
    has_place = rng.random(n) < 0.7
    return pa.table(
        {
            "person": slot,
            "source_customer_id": tc.concat("C", tc.digits(unique_ints(rng, 0, 100_000_000, n), 8)),
            "member_no": accounts.member_no.take(slot),
            "name": people.name.take(slot),
            "gender": gender,
            "birthday": pc.if_else(pa.array(rng.random(n) < 0.8), birthday, pa.scalar(None, pa.date32())),
            "phone": phone,
            "email": email,
            "wechat_unionid": unionid,
            "qq": tc.nullify(people.qq.take(slot), rng.random(n) < 0.7),
            "province": tc.nullify(people.province.take(slot), ~has_place),
            "city": tc.nullify(people.city.take(slot), ~has_place),
            "district": tc.nullify(people.district.take(slot), ~has_place),
            "address": tc.nullify(people.street.take(slot), ~has_place),
            "registered_at": tc.timestamps(registered),
            "updated_at": tc.timestamps(updated),
            "level": tc.pick(LEVELS, choice(rng, [60, 25, 12, 3], n)),
            "points": rng.integers(0, 20_000, n),
            "signup_channel": tc.pick(SIGNUP_CHANNELS, choice(rng, [35, 20, 12, 15, 10, 8], n)),
        }
    )


def sales_contacts(rng: np.random.Generator, people: People, accounts: Accounts, end: int) -> pa.Table:
    """The sales team's spreadsheet of business contacts."""
    slot = np.flatnonzero(accounts.contact)
    n = len(slot)
    style = styles(
        rng,
        n,
        {
            PhoneStyle.PLAIN: 0.5,
            PhoneStyle.SPACED: 0.15,
            PhoneStyle.DASHED: 0.15,
            PhoneStyle.PLUS86_SPACED: 0.08,
            PhoneStyle.FULL_WIDTH: 0.05,
            PhoneStyle.ZERO086: 0.02,
            PhoneStyle.MISSING: 0.05,
        },
    )
    phone = tc.where(_traps(rng, n), SALES_PLACEHOLDER, write_phones(people.mobile.take(slot), style))
    email = write_emails(people.email.take(slot), rng, upper=0.15, padded=0.05)
    email = tc.nullify(email, ~(accounts.uses_email[slot] & (rng.random(n) < 0.85)))
    email = tc.where(_traps(rng, n), TRAP_EMAIL, email)
    company = tc.concat(
        people.city.take(slot),
        tc.pick(naming.COMPANY_HEADS, rng.integers(0, len(naming.COMPANY_HEADS), n)),
        tc.pick(naming.COMPANY_TAILS, rng.integers(0, len(naming.COMPANY_TAILS), n)),
    )
    last_contact = end - rng.integers(0, 300 * 86_400, n)
    return pa.table(
        {
            "person": slot,
            "source_customer_id": tc.concat("S", tc.digits(np.arange(1, n + 1, dtype=np.int64), 6)),
            "name": people.name.take(slot),
            "gender": tc.pick(("男", "女"), people.female[slot].astype(np.int64)),
            "phone": phone,
            "email": email,
            "company": company,
            "title": tc.pick(naming.JOB_TITLES, rng.integers(0, len(naming.JOB_TITLES), n)),
            "province": people.province.take(slot),
            "city": people.city.take(slot),
            "address": tc.nullify(people.street.take(slot), rng.random(n) < 0.5),
            "birthday": pc.if_else(
                pa.array(rng.random(n) < 0.3),
                pa.array(people.birthday[slot], type=pa.date32()),
                pa.scalar(None, pa.date32()),
            ),
            "owner": tc.pick(SALES_REPS, rng.integers(0, len(SALES_REPS), n)),
            "note": tc.pick(SALES_NOTES, rng.integers(0, len(SALES_NOTES), n)),
            "last_contact": tc.timestamps(last_contact),
        }
    )


def wechat_followers(
    rng: np.random.Generator,
    people: People,
    accounts: Accounts,
    first_order: npt.NDArray[np.int64],
    start: int,
    end: int,
) -> pa.Table:
    """Followers of the WeChat service account, as the user-info API returns them."""
    slot = np.flatnonzero(accounts.follower)
    n = len(slot)
    subscribed = np.minimum(_registered(rng, first_order[slot], start, end), end)
    remark = tc.where(rng.random(n) < 0.05, tc.concat(people.name.take(slot), "-老客户"), "")
    tagged = rng.random((n, 4)) < 0.2
    offsets = np.concatenate([[0], np.cumsum(tagged.sum(axis=1))]).astype(np.int32)
    tags = pa.ListArray.from_arrays(pa.array(offsets), pa.array(100 + np.nonzero(tagged)[1].astype(np.int64)))
    return pa.table(
        {
            "person": slot,
            "source_customer_id": accounts.mp_openid.take(slot),
            "wechat_appid": pa.array(np.full(n, MP_APPID)),
            "wechat_openid": accounts.mp_openid.take(slot),
            "wechat_unionid": tc.nullify(accounts.unionid.take(slot), ~accounts.unionid_known[slot]),
            "registered_at": tc.clock_text(subscribed),
            "subscribe": pa.array(np.ones(n, dtype=np.int64)),
            "subscribe_scene": tc.pick([s for s, _ in SCENES], choice(rng, [w for _, w in SCENES], n)),
            "tagid_list": tags,
            "remark": remark,
            "language": pa.array(np.full(n, "zh_CN")),
        }
    )
