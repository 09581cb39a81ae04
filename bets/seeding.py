"""Realistic demo bets, generated in memory and written to ``bets_bet`` with PostgreSQL COPY.

Everything comes from the choices classes of ``Bet``'s fields as they are now: their members
are iterated, never named, so a member removed through the enum protocol (deleted from its
class) or one added later needs no change here. Values known below get realistic markets and
weights; any other value gets plausible generic rows and a default weight.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.db import connections
from django.db.models import TextChoices
from psycopg import sql

from betintel.enums import describe, feature_flags

from .models import Bet

#: Columns COPY fills, in the order generated rows hold them.
COLUMNS = ("sport", "bet_type", "status", "selection", "odds", "stake", "placed_at")

# Values the realistic markets and outcomes are written for. They are the database's labels,
# which the enum protocol never edits in place; each is used only while its class has it.
MONEYLINE, SPREAD, TOTAL = "h2h", "spreads", "totals"
PLAYER_POINTS, PLAYER_ASSISTS = "player_points", "player_assists"
PLAYER_REBOUNDS = "player_rebounds"
PENDING, WON, LOST, VOID = "pending", "won", "lost", "void"
#: The outcomes a bet reaches by itself; each becomes a writable status (see DemoBets).
NATURAL_STATUSES = (PENDING, WON, LOST, VOID)

#: How far back demo bets go.
WINDOW = timedelta(days=180)
#: Ages below which a bet is usually still open: tonight's games, then this week's fixtures.
OPEN_WINDOW, RECENT_WINDOW = timedelta(days=2), timedelta(days=14)
#: Share of settled bets the bookmaker voids (postponed games, non-runners).
VOID_RATE = 0.03
#: The bookmaker's margin: a selection at odds ``o`` wins with probability ``1 / (o * MARGIN)``.
MARGIN = 1.05
#: Selections (with their odds) prepared per sport and bet type; rows draw from these pools so
#: that a million rows cost one random lookup each instead of string formatting.
POOL_SIZE = 1000


def seedable_values(choices_class: type[TextChoices]) -> tuple[list[str], dict[str, str]]:
    """The values new rows may hold, and the others with the reason they are left out."""
    flags = feature_flags()
    usable: list[str] = []
    skipped: dict[str, str] = {}
    for member in describe(choices_class).members:
        if member.writable(flags):
            usable.append(member.value)
        elif member.deprecated:
            skipped[member.value] = "deprecated" + (
                f", replaced by {member.replacement}" if member.replacement else ""
            )
        else:
            skipped[member.value] = (
                f"feature flag {member.flag} is off; add it to FEATURE_FLAGS to include it"
            )
    return usable, skipped


@dataclass(frozen=True)
class SportCatalogue:
    """What bettors back in one sport: opponents, players and the lines markets are made at."""

    sides: tuple[tuple[str, ...], ...]  # groups of teams (or players) who meet each other
    spread: tuple[int, int]  # handicaps from lo+.5 to hi+.5
    total: tuple[int, int, str]  # total lines and what is counted
    props: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # bet type -> lines
    players: tuple[str, ...] = ()
    draw: bool = False
    weight: int = 10  # share of betting volume


CATALOGUES: dict[str, SportCatalogue] = {
    "soccer": SportCatalogue(
        sides=((
            "Arsenal", "Aston Villa", "Brighton", "Chelsea", "Everton", "Liverpool",
            "Manchester City", "Manchester United", "Newcastle United", "Tottenham Hotspur",
            "West Ham United", "Real Madrid", "Barcelona", "Atletico Madrid", "Bayern Munich",
            "Borussia Dortmund", "Inter Milan", "AC Milan", "Juventus", "Napoli",
            "Paris Saint-Germain", "Ajax", "Benfica", "Porto",
        ),),
        spread=(0, 2),
        total=(1, 4, "goals"),
        props={PLAYER_ASSISTS: (0, 1, "assists")},
        players=(
            "Kevin De Bruyne", "Bruno Fernandes", "Martin Odegaard", "Bukayo Saka",
            "Mohamed Salah", "Florian Wirtz", "Jamal Musiala", "Lamine Yamal",
            "Vinicius Junior", "Jude Bellingham", "Antoine Griezmann", "Kylian Mbappe",
        ),
        draw=True,
        weight=35,
    ),
    "basketball": SportCatalogue(
        sides=((
            "Boston Celtics", "Brooklyn Nets", "New York Knicks", "Philadelphia 76ers",
            "Toronto Raptors", "Chicago Bulls", "Cleveland Cavaliers", "Milwaukee Bucks",
            "Indiana Pacers", "Atlanta Hawks", "Miami Heat", "Orlando Magic", "Denver Nuggets",
            "Minnesota Timberwolves", "Oklahoma City Thunder", "Golden State Warriors",
            "Los Angeles Clippers", "Los Angeles Lakers", "Phoenix Suns", "Sacramento Kings",
            "Dallas Mavericks", "Houston Rockets", "Memphis Grizzlies", "San Antonio Spurs",
        ),),
        spread=(1, 14),
        total=(200, 240, "points"),
        props={
            PLAYER_POINTS: (12, 34, "points"),
            PLAYER_ASSISTS: (3, 11, "assists"),
            PLAYER_REBOUNDS: (4, 13, "rebounds"),
        },
        players=(
            "LeBron James", "Stephen Curry", "Nikola Jokic", "Giannis Antetokounmpo",
            "Luka Doncic", "Jayson Tatum", "Shai Gilgeous-Alexander", "Joel Embiid",
            "Anthony Davis", "Kevin Durant", "Victor Wembanyama", "Domantas Sabonis",
            "Tyrese Haliburton", "Trae Young", "Jalen Brunson", "Anthony Edwards",
        ),
        weight=20,
    ),
    "american_football": SportCatalogue(
        sides=((
            "Kansas City Chiefs", "Buffalo Bills", "Baltimore Ravens", "Cincinnati Bengals",
            "Philadelphia Eagles", "Dallas Cowboys", "San Francisco 49ers", "Detroit Lions",
            "Green Bay Packers", "Miami Dolphins", "New York Jets", "Pittsburgh Steelers",
            "Los Angeles Rams", "Seattle Seahawks", "Houston Texans", "Minnesota Vikings",
        ),),
        spread=(1, 10),
        total=(37, 54, "points"),
        weight=15,
    ),
    "baseball": SportCatalogue(
        sides=((
            "New York Yankees", "Boston Red Sox", "Los Angeles Dodgers", "San Francisco Giants",
            "Chicago Cubs", "St. Louis Cardinals", "Atlanta Braves", "Houston Astros",
            "Philadelphia Phillies", "Seattle Mariners", "Toronto Blue Jays", "Texas Rangers",
            "San Diego Padres", "New York Mets",
        ),),
        spread=(1, 1),
        total=(6, 10, "runs"),
        weight=10,
    ),
    "ice_hockey": SportCatalogue(
        sides=((
            "Boston Bruins", "Toronto Maple Leafs", "Montreal Canadiens", "Tampa Bay Lightning",
            "Florida Panthers", "New York Rangers", "Carolina Hurricanes", "Edmonton Oilers",
            "Colorado Avalanche", "Vegas Golden Knights", "Dallas Stars", "Vancouver Canucks",
            "Winnipeg Jets", "Pittsburgh Penguins",
        ),),
        spread=(1, 1),
        total=(5, 6, "goals"),
        props={
            PLAYER_POINTS: (0, 1, "points"),
            PLAYER_ASSISTS: (0, 1, "assists"),
        },
        players=(
            "Connor McDavid", "Leon Draisaitl", "Nathan MacKinnon", "Auston Matthews",
            "Nikita Kucherov", "David Pastrnak", "Artemi Panarin", "Cale Makar",
            "Sidney Crosby", "Mitch Marner",
        ),
        weight=10,
    ),
    "tennis": SportCatalogue(
        sides=(
            (
                "Carlos Alcaraz", "Jannik Sinner", "Novak Djokovic", "Alexander Zverev",
                "Daniil Medvedev", "Taylor Fritz", "Casper Ruud", "Holger Rune",
            ),
            (
                "Iga Swiatek", "Aryna Sabalenka", "Coco Gauff", "Elena Rybakina",
                "Jessica Pegula", "Jasmine Paolini",
            ),
        ),
        spread=(1, 5),
        total=(19, 38, "games"),
        weight=10,
    ),
}

#: A sport without a catalogue (added later) still gets plausible rows, at the default weight.
GENERIC = SportCatalogue(
    sides=(tuple(f"Team {letter}" for letter in "ABCDEFGHJKLM"),),
    spread=(1, 5),
    total=(2, 9, "points"),
    players=tuple(f"Player {number}" for number in range(1, 13)),
)
#: Share of a sport's volume per kind of market.
MARKET_WEIGHTS = {MONEYLINE: 45, SPREAD: 20, TOTAL: 20}
#: ... and of any other bet type (player props, and types added later).
PROP_WEIGHT = 5
#: Share of settled bets that end in a status other than the natural ones (added later).
OTHER_STATUS_RATE = 0.02
#: Round stakes most bettors type, and the tail of everything else.
ROUND_STAKES = (5, 10, 10, 10, 20, 20, 25, 50, 50, 100, 200, 500)


@dataclass
class SeedPlan:
    """Which enum values the demo rows use, and which are left out and why."""

    sports: list[str]
    bet_types: list[str]
    statuses: list[str]
    skipped: dict[str, dict[str, str]]  # field name -> {value: reason}
    replacements: dict[str, str] = field(default_factory=dict)  # status -> its replacement
    labels: dict[str, str] = field(default_factory=dict)  # bet type -> its display label

    @classmethod
    def current(
        cls,
        sports: type[TextChoices] | None = None,
        bet_types: type[TextChoices] | None = None,
        statuses: type[TextChoices] | None = None,
    ) -> SeedPlan:
        """The plan for the enums as declared now and the feature flags switched on now.

        The choices classes default to those of ``Bet``'s fields.
        """
        sports = sports or choices_class("sport")
        bet_types = bet_types or choices_class("bet_type")
        statuses = statuses or choices_class("status")
        usable_sports, skipped_sports = seedable_values(sports)
        usable_types, skipped_types = seedable_values(bet_types)
        usable_statuses, skipped_statuses = seedable_values(statuses)
        return cls(
            usable_sports,
            usable_types,
            usable_statuses,
            {"sport": skipped_sports, "bet_type": skipped_types, "status": skipped_statuses},
            {
                value: replacement
                for value, replacement in describe(statuses).deprecated.items()
                if replacement
            },
            {member.value: member.label for member in describe(bet_types).members},
        )

    def missing(self) -> list[str]:
        """Fields for which no value at all may be written: seeding is impossible then."""
        pairs = [("sport", self.sports), ("bet_type", self.bet_types), ("status", self.statuses)]
        return [name for name, values in pairs if not values]

    def markets(self, sport: str) -> list[str]:
        """The bet types offered on ``sport``: a type no catalogue knows is offered everywhere."""
        catalogue = CATALOGUES.get(sport, GENERIC)
        return [
            bet_type
            for bet_type in self.bet_types
            if bet_type in MARKET_WEIGHTS
            or bet_type in catalogue.props
            or not any(bet_type in known.props for known in CATALOGUES.values())
        ]


@dataclass(frozen=True)
class Quote:
    """One selection at its odds, with the chance it wins."""

    selection: str
    odds: str
    win_probability: float


def _matchup(rng: random.Random, catalogue: SportCatalogue) -> tuple[str, str]:
    group = rng.choice(catalogue.sides)
    home, away = rng.sample(group, 2)
    return home, away


def _line(rng: random.Random, low: int, high: int) -> float:
    # Half-point lines, so no bet pushes.
    return rng.randint(low, high) + 0.5


def _priced(selection: str, probability: float) -> Quote:
    odds = min(12.0, max(1.05, 1 / (probability * MARGIN)))
    return Quote(selection, f"{odds:.2f}", 1 / (odds * MARGIN))


def _quote(rng: random.Random, sport: str, bet_type: str, label: str) -> Quote:
    """One realistic selection for ``bet_type`` (displayed as ``label``) on ``sport``."""
    catalogue = CATALOGUES.get(sport, GENERIC)
    home, away = _matchup(rng, catalogue)
    if bet_type == MONEYLINE:
        if catalogue.draw and rng.random() < 0.25:
            return _priced(f"Draw ({home} v {away})", rng.uniform(0.21, 0.33))
        # Favourites and outsiders alike: odds from about 1.05 to 12.
        return _priced(f"{home} to beat {away}", rng.uniform(0.08, 0.9))
    if bet_type == SPREAD:
        handicap = _line(rng, *catalogue.spread) * rng.choice((-1, 1))
        return _priced(f"{home} {handicap:+.1f} v {away}", rng.uniform(0.44, 0.55))
    if bet_type == TOTAL:
        low, high, unit = catalogue.total
        side = rng.choice(("Over", "Under"))
        selection = f"{side} {_line(rng, low, high)} {unit}: {home} v {away}"
        return _priced(selection, rng.uniform(0.44, 0.55))
    if bet_type in catalogue.props:
        low, high, stat = catalogue.props[bet_type]
        player = rng.choice(catalogue.players)
        selection = f"{player} over {_line(rng, low, high)} {stat}"
        return _priced(selection, rng.uniform(0.3, 0.6))
    # A bet type added later: name it by its label until it gets a proper market.
    subject = rng.choice(catalogue.players) if catalogue.players else home
    return _priced(f"{subject} - {label} ({home} v {away})", rng.uniform(0.25, 0.6))


@dataclass
class DemoBets:
    """A generator of demo rows for one plan; counts what it produced."""

    plan: SeedPlan
    rng: random.Random
    now: datetime
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._pools: dict[tuple[str, str], list[Quote]] = {}
        # Each market appears on the wheel as often as its share of the volume, so one random
        # index picks a sport and bet type with realistic frequencies.
        self._wheel: list[tuple[str, str, list[Quote]]] = []
        for sport in self.plan.sports:
            weight = CATALOGUES.get(sport, GENERIC).weight
            for bet_type in self.plan.markets(sport):
                label = self.plan.labels.get(bet_type, bet_type)
                pool = [_quote(self.rng, sport, bet_type, label) for _ in range(POOL_SIZE)]
                self._pools[sport, bet_type] = pool
                share = weight * MARKET_WEIGHTS.get(bet_type, PROP_WEIGHT)
                self._wheel.extend([(sport, bet_type, pool)] * share)
        if not self._wheel:
            raise ValueError("No sport offers any writable bet type; nothing can be seeded.")
        self._stakes = [f"{stake}.00" for stake in ROUND_STAKES] * 60 + [
            f"{min(5000.0, max(1.0, self.rng.lognormvariate(3.0, 1.0))):.2f}"
            for _ in range(300)
        ]
        self._status = self._status_map()
        self._other_statuses = [
            status for status in self.plan.statuses if status not in NATURAL_STATUSES
        ]

    def _status_map(self) -> dict[str, str]:
        # A natural status that may not be written (deprecated, or no member of the class)
        # becomes its replacement, else the first writable one, so the row stays writable.
        usable = self.plan.statuses
        mapping = {}
        for status in NATURAL_STATUSES:
            replacement = self.plan.replacements.get(status)
            if status in usable:
                mapping[status] = status
            elif replacement in usable:
                mapping[status] = replacement
            else:
                mapping[status] = usable[0]
        return mapping

    def covering(self) -> list[tuple[str, str, str]]:
        """(sport, bet type, status) triples that together use every planned value once."""
        pairs: list[tuple[str, str]] = []
        for bet_type in self.plan.bet_types:
            sport = next(
                (s for s in self.plan.sports if bet_type in self.plan.markets(s)), None
            )
            if sport is not None:
                pairs.append((sport, bet_type))
        for sport in self.plan.sports:
            if all(s != sport for s, _ in pairs) and self.plan.markets(sport):
                pairs.append((sport, self.plan.markets(sport)[0]))
        statuses = self.plan.statuses
        while len(pairs) < len(statuses):
            pairs.append(pairs[len(pairs) % len(pairs)])
        return [(s, t, statuses[i % len(statuses)]) for i, (s, t) in enumerate(pairs)]

    def rows(self, count: int) -> Iterator[tuple]:
        """``count`` rows in ``COLUMNS`` order; the first ones cover every planned value."""
        rng, now, counts, stakes = self.rng, self.now, self.counts, self._stakes
        covering = self.covering()[:count]
        for sport, bet_type, status in covering:
            quote = rng.choice(self._pools[sport, bet_type])
            # Open bets are tonight's; settled ones lie weeks back.
            age = rng.uniform(0, 1) if status == PENDING else rng.uniform(20, 150)
            counts[sport, bet_type, status] += 1
            stake, placed_at = rng.choice(stakes), now - timedelta(days=age)
            yield sport, bet_type, status, quote.selection, quote.odds, stake, placed_at
        # The hot loop: locals and plain list indexing, as it runs once per row of a million.
        random_, status_map, others = rng.random, self._status, self._other_statuses
        wheel, wheel_size = self._wheel, len(self._wheel)
        window = WINDOW.total_seconds()
        open_age, recent_age = OPEN_WINDOW.total_seconds(), RECENT_WINDOW.total_seconds()
        stake_count = len(stakes)
        for _ in range(count - len(covering)):
            sport, bet_type, pool = wheel[int(random_() * wheel_size)]
            quote = pool[int(random_() * POOL_SIZE)]
            # Skewed towards recent dates: the book grows, and recent bets are most looked at.
            age = window * random_() ** 1.6
            pending_rate = 0.9 if age < open_age else 0.12 if age < recent_age else 0.01
            if random_() < pending_rate:
                status = status_map[PENDING]
            elif others and random_() < OTHER_STATUS_RATE:
                status = others[int(random_() * len(others))]
            elif random_() < VOID_RATE:
                status = status_map[VOID]
            elif random_() < quote.win_probability:
                status = status_map[WON]
            else:
                status = status_map[LOST]
            counts[sport, bet_type, status] += 1
            stake = stakes[int(random_() * stake_count)]
            placed_at = now - timedelta(seconds=age)
            yield sport, bet_type, status, quote.selection, quote.odds, stake, placed_at

    def used(self, position: int) -> list[str]:
        """Values written so far at ``position`` of (sport, bet type, status), in plan order."""
        order = (self.plan.sports, self.plan.bet_types, self.plan.statuses)[position]
        seen = {key[position] for key, number in self.counts.items() if number}
        return [value for value in order if value in seen]


def choices_class(field_name: str) -> type[TextChoices]:
    """The choices class of ``Bet``'s enum field ``field_name``, as the model declares it now."""
    return Bet._meta.get_field(field_name).choices_class


def copy_rows(
    rows: Iterator[tuple],
    count: int,
    on_progress: Callable[[int], None] = lambda done: None,
    batch_size: int = 10_000,
    using: str = "default",
) -> int:
    """Write up to ``count`` rows to ``bets_bet`` in one COPY, reporting progress per batch."""
    table = Bet._meta.db_table
    columns = [Bet._meta.get_field(name).column for name in COLUMNS]
    # Text format: PostgreSQL casts each label to its enum type, as it would a literal.
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    written = 0
    with connections[using].cursor() as cursor, cursor.cursor.copy(statement) as copy:
        write_row = copy.write_row
        while written < count:
            batch = 0
            for row in islice(rows, min(batch_size, count - written)):
                write_row(row)
                batch += 1
            if not batch:
                break
            written += batch
            on_progress(batch)
    return written


def analyze(using: str = "default") -> None:
    """Refresh the planner statistics of ``bets_bet`` (estimated counts read them)."""
    statement = sql.SQL("ANALYZE {}").format(sql.Identifier(Bet._meta.db_table))
    with connections[using].cursor() as cursor:
        cursor.execute(statement.as_string(cursor.cursor))


def existing_count(using: str = "default") -> int:
    """How many bets the table holds now."""
    return Bet.objects.using(using).count()
