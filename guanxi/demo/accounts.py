"""Which systems know each person, and under which ids.

Buyers shop on one platform (Taobao, JD, Youzan, Shopify), some on a second.
Each platform knows them by its own account id (a Taobao nick, a JD account, a
Youzan fan id, a Shopify e-mail). Besides the shops there are the brand's own
systems: the CRM (member numbers), the WeChat service account (an openid per
app, a unionid across the brand's apps when the account is bound to the open
platform), the mini-program, the sales team's contact list and the service
desk. Repeat buyers are more likely to be members and followers; people who
never bought appear only as followers, leads, contacts or app visitors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from guanxi.demo import naming
from guanxi.demo import textcols as tc
from guanxi.demo.people import People
from guanxi.demo.randomness import choice, unique_ints

PLATFORMS = ("taobao", "jd", "youzan", "shopify")
PLATFORM_SHARE = (0.42, 0.26, 0.17, 0.15)
TAOBAO, JD, YOUZAN, SHOPIFY = range(4)
SECOND_PLATFORM_SHARE = 0.18
CONTACT_CAP = 5_000
"""A sales team keeps a few thousand contacts; non-buyers beyond this become CRM leads."""

MP_APPID = "wx8f3c2a9d41b7e605"
"""The brand's WeChat service account (公众号)."""
MINI_APPID = "wx2b71e9c04d5a8f13"
"""The brand's WeChat mini-program (小程序)."""
_MP_PREFIX, _MINI_PREFIX, _UNION_PREFIX = "o6_bm", "oPqX8", "oUpF8"
_NON_BUYER_ROLES = {"follower": 0.45, "lead": 0.25, "contact": 0.10, "visitor": 0.20}


@dataclass(frozen=True)
class Accounts:
    """Per person (aligned with :class:`People`): platforms, ids and memberships."""

    primary: npt.NDArray[np.int64]
    """Main platform index into :data:`PLATFORMS`; -1 for people who never bought."""
    secondary: npt.NDArray[np.int64]
    """A second platform, or -1."""
    taobao_id: tc.Column
    jd_id: tc.Column
    youzan_id: tc.Column
    member_no: tc.Column
    service_id: tc.Column
    mp_openid: tc.Column
    mini_openid: tc.Column
    unionid: tc.Column
    member: npt.NDArray[np.bool_]
    follower: npt.NDArray[np.bool_]
    contact: npt.NDArray[np.bool_]
    mini_user: npt.NDArray[np.bool_]
    unionid_known: npt.NDArray[np.bool_]
    """The brand's systems see this person's unionid (account bound, user authorised)."""
    uses_email: npt.NDArray[np.bool_]
    """Gives an e-mail address (always true for Shopify buyers)."""

    def uses(self, platform: int) -> npt.NDArray[np.bool_]:
        """People who buy on ``platform``."""
        result: npt.NDArray[np.bool_] = (self.primary == platform) | (self.secondary == platform)
        return result


def _openids(rng: np.random.Generator, prefix: str, size: int) -> tc.Column:
    """28-character WeChat ids sharing the app's 5-character prefix."""
    return tc.concat(prefix, tc.random_text(rng, size, 23, tc.BASE64URL))


def _taobao_nicks(rng: np.random.Generator, people: People) -> tc.Column:
    size = len(people)
    style = rng.integers(0, 3, size)
    numeric = tc.concat("tb", tc.digits(rng.integers(10_000_000, 99_999_999_999, size)))
    handle = tc.concat(people.pinyin, tc.digits(rng.integers(1, 10_000, size)))
    heads = tc.pick(naming.NICK_HEADS, rng.integers(0, len(naming.NICK_HEADS), size))
    tails = tc.pick(naming.NICK_TAILS, rng.integers(0, len(naming.NICK_TAILS), size))
    chinese = tc.where(
        rng.random(size) < 0.5,
        tc.concat(heads, tails),
        tc.concat(heads, tails, tc.digits(rng.integers(1, 1000, size))),
    )
    nick = tc.where(style == 0, numeric, tc.where(style == 1, handle, chinese))
    return tc.dedupe(nick, tc.concat("_", tc.digits(np.arange(size, dtype=np.int64))))


def _jd_accounts(rng: np.random.Generator, people: People) -> tc.Column:
    size = len(people)
    style = rng.random(size)
    generated = tc.concat("jd_", tc.random_text(rng, size, 13, tc.ALNUM_LOWER))
    handle = tc.concat(people.pinyin, "_", tc.digits(rng.integers(1, 1000, size)))
    account = tc.where(style < 0.5, generated, tc.where(style < 0.75, handle, people.mobile))
    return tc.dedupe(account, tc.concat("_", tc.digits(np.arange(size, dtype=np.int64))))


def build_accounts(
    rng: np.random.Generator, people: People, orders_per_person: npt.NDArray[np.int64]
) -> Accounts:
    """Accounts for ``people``; ``orders_per_person`` (0 for non-buyers) shapes memberships."""
    size = len(people)
    buyer = orders_per_person > 0
    primary = np.where(buyer, choice(rng, PLATFORM_SHARE, size), -1)
    other = choice(rng, PLATFORM_SHARE, size)
    secondary = np.where(buyer & (rng.random(size) < SECOND_PLATFORM_SHARE) & (other != primary), other, -1)

    loyalty = np.minimum(orders_per_person, 6)
    role = np.where(buyer, -1, choice(rng, list(_NON_BUYER_ROLES.values()), size))
    u = rng.random((5, size))
    member = np.where(
        buyer, u[0] < 0.18 + 0.06 * loyalty, np.isin(role, [1, 3]) | ((role == 0) & (u[0] < 0.15))
    )
    member |= (role == 2) & (u[0] < 0.10)
    follower = np.where(buyer, u[1] < 0.30 + 0.03 * loyalty, (role == 0) | ((role == 1) & (u[1] < 0.2)))
    contact = np.where(buyer, u[2] < min(0.015, 0.4 * CONTACT_CAP / max(int(buyer.sum()), 1)), role == 2)
    excess = np.flatnonzero(contact & ~buyer)[max(0, CONTACT_CAP - int((contact & buyer).sum())) :]
    contact[excess] = False
    member[excess] = True
    mini_user = np.where(member, u[3] < 0.6, buyer & (u[3] < 0.10)) | (role == 3)
    unionid_known = u[4] < 0.72

    shopify = (primary == SHOPIFY) | (secondary == SHOPIFY)
    return Accounts(
        primary=primary.astype(np.int64),
        secondary=secondary.astype(np.int64),
        taobao_id=_taobao_nicks(rng, people),
        jd_id=_jd_accounts(rng, people),
        youzan_id=tc.digits(unique_ints(rng, 1_000_000_000, 9_999_999_999, size)),
        member_no=tc.concat("VIP", tc.digits(unique_ints(rng, 0, 100_000_000, size), 8)),
        service_id=tc.concat("KH", tc.digits(unique_ints(rng, 0, 100_000_000, size), 8)),
        mp_openid=_openids(rng, _MP_PREFIX, size),
        mini_openid=_openids(rng, _MINI_PREFIX, size),
        unionid=_openids(rng, _UNION_PREFIX, size),
        member=member,
        follower=follower,
        contact=contact,
        mini_user=mini_user,
        unionid_known=unionid_known,
        uses_email=people.has_email | shopify,
    )
