"""The growth-assessment instruments (T4), their items and scoring as data, with their sources.

Both are published with their items and scoring and are used without a fee; the English items
are the authors' wording (checked item by item against the publications). **The Chinese items
are this programme's working translation, not a validated version**: validated Chinese versions
exist and their wording should replace these before results are compared with published norms
or across studies:

- BRS: Lai, J. C. L., & Yue, X. (2014). Using the Brief Resilience Scale to assess Chinese
  people's ability to bounce back from stress. SAGE Open, 4(4) (547 Hong Kong and 268 mainland
  undergraduates, one factor); Fung, S. (2020). Validity of the Brief Resilience Scale and Brief
  Resilient Coping Scale in a Chinese sample. IJERPH, 17(4), 1265 (511 undergraduates, α 0.71).
- TEQ: Xu, R. H., Wong, E. L., Lu, S. Y., Zhou, L., Chang, J., & Wang, D. (2020). Validation of
  the Toronto Empathy Questionnaire (TEQ) among medical students in China. Frontiers in
  Psychology, 11, 810 (simplified Chinese cTEQ, 1,296 medical students; three factors; item
  response analyses suggest some items need revision).

- **Brief Resilience Scale (BRS)**: Smith, B. W., Dalen, J., Wiggins, K., Tooley, E.,
  Christopher, P., & Bernard, J. (2008). The Brief Resilience Scale: assessing the ability to
  bounce back. International Journal of Behavioral Medicine, 15(3), 194-200. Six items answered
  1 (strongly disagree) to 5 (strongly agree); items 2, 4 and 6 are reverse-scored (6 − answer);
  the score is the mean of the six. Bands (Smith et al., 2013, "The foundations of
  resilience"): 1.00-2.99 low, 3.00-4.30 normal, 4.31-5.00 high resilience.
- **Toronto Empathy Questionnaire (TEQ)**: Spreng, R. N., McKinnon, M. C., Mar, R. A., &
  Levine, B. (2009). The Toronto Empathy Questionnaire. Journal of Personality Assessment,
  91(1), 62-71 (items and scoring in its appendix; open access as PMC2775495). Sixteen items
  answered 0 (never) to 4 (always); items 2, 4, 7, 10, 11, 12, 14 and 15 are reverse-scored
  (4 − answer); the score is the sum, 0-64. **The authors publish no cut-off scores** (nor do
  the Chinese validations above): the bands used here (below 40, 40-55, above 55) are this
  programme's placeholder, for choosing growth advice only, never a diagnosis. They are a
  per-community setting (`TeqBands`: the totals where "typical" and "higher" start, 40 and 56
  by default), and the scoring text every instrument listing carries says which apply.

Scores are kept in hundredths so that a mean is exact to what is shown: the BRS mean 22/6 is
367 (rounded half up), the TEQ total 45 is 4500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from linli_kit.errors import InvalidArgument


@dataclass(frozen=True)
class Item:
    """One item of an instrument."""

    number: int
    text_zh: str
    text_en: str
    reverse_scored: bool = False


@dataclass(frozen=True)
class Band:
    """A score range (hundredths, inclusive) and the growth advice for it."""

    name: str
    lowest: int
    highest: int
    advice_zh: str
    advice_en: str


@dataclass(frozen=True)
class Instrument:
    """An instrument: items, response scale, how it is scored, bands and source."""

    id: str
    title_zh: str
    title_en: str
    lowest: int
    highest: int
    labels_zh: tuple[str, ...]
    labels_en: tuple[str, ...]
    items: tuple[Item, ...]
    mean: bool
    bands: tuple[Band, ...]
    scoring: str
    source: str

    def recoded(self, answers: Sequence[int]) -> list[int]:
        """The answers with reverse-scored items recoded (lowest + highest − answer)."""
        if len(answers) != len(self.items):
            raise InvalidArgument(f"{self.title_en} has {len(self.items)} items: one answer each")
        if any(not self.lowest <= a <= self.highest for a in answers):
            raise InvalidArgument(f"answers are {self.lowest} to {self.highest}")
        return [
            self.lowest + self.highest - a if item.reverse_scored else a
            for item, a in zip(self.items, answers, strict=True)
        ]

    def score(self, answers: Sequence[int]) -> int:
        """The published score in hundredths: the mean (rounded half up) or the sum."""
        total = sum(self.recoded(answers))
        if not self.mean:
            return total * 100
        count = len(self.items)
        return (total * 200 + count) // (2 * count)

    def band(self, score: int) -> Band:
        """The band a score falls in."""
        return next(b for b in self.bands if b.lowest <= score <= b.highest)


BRS = Instrument(
    id="brs",
    title_zh="简易心理弹性量表",
    title_en="Brief Resilience Scale",
    lowest=1,
    highest=5,
    labels_zh=("非常不同意", "不同意", "中立", "同意", "非常同意"),
    labels_en=("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"),
    items=(
        Item(
            1,
            "在经历困难之后，我往往能很快恢复过来。",
            "I tend to bounce back quickly after hard times",
        ),
        Item(
            2,
            "我很难熬过压力大的事情。",
            "I have a hard time making it through stressful events",
            True,
        ),
        Item(
            3,
            "我从压力事件中恢复过来不需要很长时间。",
            "It does not take me long to recover from a stressful event",
        ),
        Item(
            4,
            "发生不好的事情时，我很难重新振作起来。",
            "It is hard for me to snap back when something bad happens",
            True,
        ),
        Item(
            5,
            "我通常能比较顺利地度过困难时期。",
            "I usually come through difficult times with little trouble",
        ),
        Item(
            6,
            "我往往需要很长时间才能从生活中的挫折里走出来。",
            "I tend to take a long time to get over set-backs in my life",
            True,
        ),
    ),
    mean=True,
    bands=(
        Band(
            "low",
            100,
            299,
            "建议参加“安全知识”“沟通技巧”等基础课程中的压力应对练习，并与社工约一次谈话；"
            "从时长短、有同伴的服务做起。",
            "Take the stress-coping practice in the beginner courses and book a talk with your "
            "social worker; start with short services alongside a partner.",
        ),
        Band(
            "normal",
            300,
            430,
            "保持规律的服务与休息；可在中级课程“矛盾调解”中练习在压力下沟通。",
            "Keep a regular rhythm of service and rest; practise communicating under pressure in "
            "the intermediate mediation course.",
        ),
        Band(
            "high",
            431,
            500,
            "恢复力较强：可考虑带教新志愿者（老带新）或参与应急服务。",
            "You bounce back well: consider mentoring newcomers or joining emergency response.",
        ),
    ),
    scoring="Items 2, 4, 6 reverse-scored (6 − answer); the score is the mean of the six items.",
    source=(
        "Smith B.W., Dalen J., Wiggins K., Tooley E., Christopher P., Bernard J. (2008). The "
        "Brief Resilience Scale: assessing the ability to bounce back. International Journal "
        "of Behavioral Medicine 15(3):194-200. Bands: Smith et al. (2013), The foundations of "
        "resilience, p. 177. Items and scoring published by the authors; used without a fee."
    ),
)

TEQ = Instrument(
    id="teq",
    title_zh="多伦多共情量表",
    title_en="Toronto Empathy Questionnaire",
    lowest=0,
    highest=4,
    labels_zh=("从不", "很少", "有时", "经常", "总是"),
    labels_en=("Never", "Rarely", "Sometimes", "Often", "Always"),
    items=(
        Item(
            1,
            "当别人感到兴奋时，我也容易跟着兴奋起来。",
            "When someone else is feeling excited, I tend to get excited too",
        ),
        Item(
            2,
            "别人的不幸不会让我太难过。",
            "Other people's misfortunes do not disturb me a great deal",
            True,
        ),
        Item(
            3,
            "看到有人被不尊重地对待，我会感到难过。",
            "It upsets me to see someone being treated disrespectfully",
        ),
        Item(
            4,
            "亲近的人开心时，我不受影响。",
            "I remain unaffected when someone close to me is happy",
            True,
        ),
        Item(5, "我喜欢让别人感觉好一些。", "I enjoy making other people feel better"),
        Item(
            6,
            "对比我不幸的人，我怀有温柔、关切的感情。",
            "I have tender, concerned feelings for people less fortunate than me",
        ),
        Item(
            7,
            "朋友开始谈论他/她的烦恼时，我会试着把话题引到别的事情上。",
            "When a friend starts to talk about his/her problems, I try to steer the "
            "conversation towards something else",
            True,
        ),
        Item(
            8,
            "即使别人什么都不说，我也能看出他们难过。",
            "I can tell when others are sad even when they do not say anything",
        ),
        Item(
            9,
            "我发现自己能和别人的情绪“合拍”。",
            'I find that I am "in tune" with other people\'s moods',
        ),
        Item(
            10,
            "对自己导致严重疾病的人，我不觉得同情。",
            "I do not feel sympathy for people who cause their own serious illnesses",
            True,
        ),
        Item(11, "有人哭的时候，我会感到烦躁。", "I become irritated when someone cries", True),
        Item(
            12,
            "我对别人的感受并不太感兴趣。",
            "I am not really interested in how other people feel",
            True,
        ),
        Item(
            13,
            "看到有人心烦意乱时，我会有一种强烈的想去帮忙的冲动。",
            "I get a strong urge to help when I see someone who is upset",
        ),
        Item(
            14,
            "看到有人受到不公平对待时，我并不怎么可怜他们。",
            "When I see someone being treated unfairly, I do not feel very much pity for them",
            True,
        ),
        Item(
            15,
            "我觉得人因为高兴而哭很傻。",
            "I find it silly for people to cry out of happiness",
            True,
        ),
        Item(
            16,
            "看到有人被利用时，我会有点想保护他/她。",
            "When I see someone being taken advantage of, I feel kind of protective "
            "towards him/her",
        ),
    ),
    mean=False,
    bands=(
        Band(
            "lower",
            0,
            3999,
            "建议参加“沟通技巧”课程中的倾听与共情练习，并在入户探访中与有经验的志愿者结对。",
            "Take the listening and empathy practice of the communication course, and pair with "
            "an experienced volunteer on home visits.",
        ),
        Band(
            "typical",
            4000,
            5500,
            "可在助老、陪伴类服务中继续积累与不同居民相处的经验。",
            "Keep building experience with different residents in elder-care and companionship "
            "services.",
        ),
        Band(
            "higher",
            5501,
            6400,
            "共情力较强：适合参与特殊群体（老人、残障人士）服务队，也要注意自我照顾、避免共情疲劳。",
            "You empathise readily: the special teams for the elderly and disabled suit you; "
            "look after yourself against compassion fatigue.",
        ),
    ),
    scoring=(
        "Items 2, 4, 7, 10, 11, 12, 14, 15 reverse-scored (4 − answer); the score is the sum "
        "of the sixteen items (0-64). Bands are this programme's placeholder (the authors "
        "publish no cut-offs), for growth advice only."
    ),
    source=(
        "Spreng R.N., McKinnon M.C., Mar R.A., Levine B. (2009). The Toronto Empathy "
        "Questionnaire: scale development and initial validation of a factor-analytic solution "
        "to multiple empathy measures. Journal of Personality Assessment 91(1):62-71 "
        "(appendix; open access PMC2775495). Published free of charge by its authors."
    ),
)

TEQ_TYPICAL_FROM, TEQ_HIGHER_FROM = 40, 56


@dataclass(frozen=True)
class TeqBands:
    """A community's TEQ band boundaries: the totals where "typical" and "higher" start."""

    typical_from: int = TEQ_TYPICAL_FROM
    higher_from: int = TEQ_HIGHER_FROM

    def __post_init__(self) -> None:
        if not 1 <= self.typical_from < self.higher_from <= 64:
            raise ValueError("TEQ bands: 1 <= typical_from < higher_from <= 64 (totals 0-64)")

    def apply(self, tool: Instrument) -> Instrument:
        """The TEQ with these boundaries (scores in hundredths), named in its scoring text."""
        lower, typical, higher = tool.bands
        typical_from, higher_from = self.typical_from * 100, self.higher_from * 100
        return replace(
            tool,
            bands=(
                replace(lower, highest=typical_from - 1),
                replace(typical, lowest=typical_from, highest=higher_from - 1),
                replace(higher, lowest=higher_from),
            ),
            scoring=(
                "Items 2, 4, 7, 10, 11, 12, 14, 15 reverse-scored (4 − answer); the score is the "
                f"sum of the sixteen items (0-64). Bands: below {self.typical_from} lower, "
                f"{self.typical_from}-{self.higher_from - 1} typical, {self.higher_from} and "
                "above higher: a setting of the community (the authors publish no cut-offs), "
                "for growth advice only."
            ),
        )


def catalogue(bands: TeqBands) -> dict[str, Instrument]:
    """The instruments by id, the TEQ banded as a community sets it."""
    return {BRS.id: BRS, TEQ.id: bands.apply(TEQ)}


INSTRUMENTS: dict[str, Instrument] = catalogue(TeqBands())


def instrument(instrument_id: str, tools: Mapping[str, Instrument] = INSTRUMENTS) -> Instrument:
    """An instrument by id, or InvalidArgument naming those there are."""
    if instrument_id not in tools:
        raise InvalidArgument(f"instrument must be one of {', '.join(sorted(tools))}")
    return tools[instrument_id]
