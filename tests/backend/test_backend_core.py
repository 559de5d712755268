"""Unit tests of the pure rules: ranking, PlayerBoard, counts, session rules, body bounds, ISO times."""
from __future__ import annotations

import itertools
import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spaceinvaders_backend.core import errors
from spaceinvaders_backend.core import sessions as rules
from spaceinvaders_backend.core.errors import ApiError
from spaceinvaders_backend.core.models import (
    SESSION_ID_PATTERN,
    SESSION_NAME_PATTERN,
    OpenSession,
    SignIn,
    SignUp,
    StartSession,
    StatusUpdate,
    UsernameBody,
    decode,
)
from spaceinvaders_backend.core.ranking import Entry, RankedBoard, better, rank_key, ranked
from spaceinvaders_backend.core.scoreboard import COUNTS, DROPPED, WAITS, PlayerBoard, counts, verdict
from spaceinvaders_backend.core.sessions import FINISHED, PLAYING, Session
from spaceinvaders_backend.core.timeutil import parse_iso, session_suffix, to_iso

T0 = 1_800_000_000.0  # a fixed "now" for the rules


def E(nick: str, score: int, shots: int = 0, level: int = 1, lives: int = 3) -> Entry:
    return Entry(nick, score, shots, level, lives)


# --- ranking ----------------------------------------------------------------------------------------

class TestRanking:
    def test_each_key_in_order(self):
        entries = [
            E("zed", 10, shots=0, lives=3),      # lowest score: last
            E("bob", 50, shots=5, lives=1),      # ties with ann on score, lives, shots: name decides
            E("ann", 50, shots=5, lives=1),
            E("cat", 50, shots=1, lives=1),      # fewer shots beats ann/bob
            E("dan", 50, shots=9, lives=2),      # more lives beats cat despite more shots
            E("eve", 90, shots=99, lives=0),     # highest score wins whatever else
        ]
        assert [e.nickname for e in ranked(entries)] == ["eve", "dan", "cat", "ann", "bob", "zed"]

    def test_sort_key_and_better(self):
        a, b = E("a", 5), E("b", 5)
        assert rank_key(a) < rank_key(b)
        assert better(a, b) is a and better(b, a) is a
        assert better(None, b) is b and better(a, None) is a and better(None, None) is None
        assert better(E("x", 1, lives=2), E("x", 1, lives=1)).lives == 2
        assert better(E("x", 1, shots=3), E("x", 1, shots=2)).shots == 2

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(st.lists(st.builds(E, st.sampled_from(["ann", "bob", "cat", "Dan", "eve"]), st.integers(0, 5),
                              st.integers(0, 3), st.just(1), st.integers(0, 3)), max_size=40))
    def test_every_neighbour_pair_follows_the_contract(self, entries):
        """The contract's sentence, one comparison after the other, holds between neighbours of `ranked`."""
        def before(a: Entry, b: Entry) -> bool:
            if a.score != b.score:
                return a.score > b.score
            if a.lives != b.lives:
                return a.lives > b.lives
            if a.shots != b.shots:
                return a.shots < b.shots
            return a.nickname <= b.nickname

        out = ranked(entries)
        assert sorted(out) == sorted(entries)  # the same entries, only reordered
        for a, b in itertools.pairwise(out):
            assert before(a, b), (a, b)

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(st.lists(st.builds(E, st.sampled_from(["ann", "bob", "cat", "Dan", "eve", "fay"]), st.integers(0, 5),
                              st.integers(0, 3), st.just(1), st.integers(0, 3)), max_size=60),
           st.integers(0, 60))
    def test_a_ranked_board_kept_in_order_is_the_board_sorted_anew(self, changes, start):
        """RankedBoard after any sequence of changes = `ranked` of each player's latest entry."""
        board, latest = RankedBoard(changes[:start]), {}
        for entry in changes[:start]:
            latest[entry.nickname] = entry
        if len(latest) < len(changes[:start]):  # one entry a player when made: keep the latest ones
            board = RankedBoard(latest.values())
        for entry in changes[start:]:
            board.put(entry)
            latest[entry.nickname] = entry
            expected = ranked(latest.values())
            assert board.top() == expected and len(board) == len(expected)
            assert board.top(3) == expected[:3]
            for rank, e in enumerate(expected, 1):
                assert board.rank(e.nickname) == (rank, e)
        assert board.rank("nobody") is None

    def test_as_dict(self):
        expected = {"Nickname": "a", "Score": 1, "Shots": 2, "Level": 3, "Lives": 4}
        assert E("a", 1, 2, 3, 4).as_dict() == expected


# --- PlayerBoard.apply ------------------------------------------------------------------------------
# apply() answers (the record was taken, not stale; it finished a trial).

class TestPlayerBoard:
    def test_newest_record_is_the_current_trial(self):
        b = PlayerBoard()
        assert b.entry is None
        assert b.apply(E("p", 10), 1.0) == (True, False)
        assert b.apply(E("p", 20), 2.0) == (True, False)
        assert b.entry.score == 20
        # Same entry again (a retry) leaves the board as it was.
        b.apply(E("p", 20), 2.0)
        assert b.entry == E("p", 20) and b.best_finished is None

    def test_out_of_order_record_does_not_move_back(self):
        b = PlayerBoard()
        b.apply(E("p", 50), 5.0)
        assert b.apply(E("p", 999), 4.0) == (False, False)  # older stamp: ignored even if better
        # An older last life ended an earlier trial (taken as one), not the current one.
        assert b.apply(E("p", 10, lives=0), 4.5) == (True, False)
        assert b.entry.score == 50 and b.current is not None and b.best_finished == E("p", 10, lives=0)

    def test_lives_zero_finishes_the_trial(self):
        b = PlayerBoard()
        b.apply(E("p", 100), 1.0)
        assert b.apply(E("p", 120, lives=0), 2.0) == (True, True)
        assert b.current is None and b.best_finished == E("p", 120, lives=0)
        assert b.trial_end_ts == 2.0
        # A straggler of the finished trial (stamped no later than its end) is stale.
        assert b.apply(E("p", 130), 2.0) == (False, False)
        assert b.apply(E("p", 130), 1.5) == (False, False)

    def test_best_trial_counts_not_the_latest(self):
        b = PlayerBoard()
        b.apply(E("p", 900, lives=0), 1.0)     # trial 1: 900
        b.apply(E("p", 100), 2.0)              # trial 2 running at 100
        assert b.entry.score == 900
        taken, ended = b.apply(E("p", 300, lives=0), 3.0)  # trial 2 ends lower
        assert taken and ended and b.entry.score == 900 and b.current is None
        b.apply(E("p", 1000), 4.0)             # trial 3 beats it while running
        assert b.entry.score == 1000
        assert b.apply(E("p", 1500, lives=0), 5.0) == (True, True)
        assert b.best_finished.score == 1500

    def test_tie_break_between_trials(self):
        b = PlayerBoard()
        b.apply(E("p", 100, shots=50, lives=0), 1.0)
        b.apply(E("p", 100, shots=10, lives=2), 2.0)  # same score, more lives: better
        assert b.entry.lives == 2
        b.apply(E("p", 100, shots=10, lives=0), 3.0)
        assert b.entry == E("p", 100, shots=10, lives=0)  # same score and lives: fewer shots


# Records of one player: a few moments (so that Timestamps tie), last lives, repeats.
_records = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(0, 2), st.integers(1, 2),
                              st.integers(0, 2)), min_size=1, max_size=12)


def _state(b: PlayerBoard) -> tuple:
    return b.best_finished, b.current, b.current_ts, b.trial_end_ts, b.entry


class TestOneOrder:
    """A player's board is a function of the set of their records: any order, any repeat, any batching."""

    @settings(max_examples=300, deadline=None)
    @given(_records, st.randoms(use_true_random=False))
    def test_any_order_and_repeats_give_the_same_board(self, records, rng):
        def board(order):
            b = PlayerBoard()
            for ts, score, shots, level, lives in order:
                b.apply(E("p", score * 10, shots, level, lives), float(ts))
            return _state(b)

        expected = board(sorted(records))  # Timestamp order
        shuffled = list(records) + rng.sample(records, len(records) // 2)  # some delivered twice
        rng.shuffle(shuffled)
        assert board(shuffled) == expected

    def test_a_tie_on_the_timestamp_is_decided_by_the_entries_not_the_order(self):
        a, b = E("p", 10, level=1), E("p", 10, level=2)
        for first, second in ((a, b), (b, a)):
            board = PlayerBoard()
            board.apply(first, 1.0)
            board.apply(second, 1.0)
            assert board.current == b  # equal but for Level: the higher
        board = PlayerBoard()
        board.apply(E("p", 50), 1.0)
        board.apply(E("p", 40, lives=0), 1.0)  # a last life at the same moment ends that trial
        assert board.current is None and board.entry == E("p", 40, lives=0)

    def test_ended_is_only_the_latest_trials_end(self):
        b = PlayerBoard()
        b.apply(E("p", 30), 3.0)
        assert b.apply(E("p", 20, lives=0), 2.0) == (True, False)  # a newer trial already runs
        assert b.apply(E("p", 40, lives=0), 4.0) == (True, True)
        assert b.apply(E("p", 40, lives=0), 4.0) == (False, False)  # again: nothing new


class TestVerdict:
    def test_a_record_counts_once_nothing_can_close_the_session_before_it(self):
        assert verdict(T0, T0, None, T0) == COUNTS
        assert verdict(T0 + 0.2, T0, None, T0) == WAITS  # stamped ahead of the clock: waits for its stamp
        assert verdict(T0, T0 + 0.2, None, T0 + 0.1) == WAITS  # a close being written at T0 + 0.1
        assert verdict(T0 + 61, T0 + 1, T0 + 60, T0 + 62) == DROPPED  # after a deadline known in advance
        assert verdict(T0 + 59, T0 + 1, T0 + 60, T0 + 58) == WAITS  # the manager may still close it earlier
        assert verdict(T0 + 1, T0, T0 + 1, math.inf) == COUNTS  # closed: its close decides alone
        assert verdict(T0 + 1.001, T0, T0 + 1, math.inf) == DROPPED


class TestCounts:
    def test_open_session_counts_everything(self):
        assert counts(T0 + 10**6, T0, None)

    def test_closed_session(self):
        assert counts(T0 - 1, T0 - 1, T0)
        assert counts(T0, T0, T0)                  # at the closing instant: still in
        assert not counts(T0 + 0.001, T0 - 5, T0)  # stamped after closing
        assert not counts(T0 - 5, T0 + 0.001, T0)  # received after closing


# --- sessions ---------------------------------------------------------------------------------------

def _session(game_type=rules.MULTIPLE_TRIALS, synchronized=False, seats=200, **kw) -> Session:
    return rules.open_session("ROOM", game_type, synchronized, T0, total_seats=seats, **kw)


class TestOpenStartClose:
    def test_open(self):
        s = _session()
        assert s.session_id == "ROOM" + session_suffix(T0)
        assert s.timeout_minutes is None and s.closing_time is None and s.started_at == T0
        assert s.deadline is None and not s.is_closed(T0 + 10**6)
        tc = _session(rules.TIME_CONSTRAINED)
        assert tc.timeout_minutes == rules.DEFAULT_TIMEOUT_MINUTES
        assert _session(rules.TIME_CONSTRAINED, timeout_minutes=2).deadline == T0 + 120
        assert _session(rules.SINGLE_TRIAL, timeout_minutes=2).timeout_minutes is None

    def test_open_while_open_is_409(self):
        with pytest.raises(ApiError) as e:
            rules.open_session("OTHER", rules.SINGLE_TRIAL, False, T0 + 1, current=_session())
        assert (e.value.status, e.value.code) == (409, errors.SESSION_OPEN)

    def test_open_after_close(self):
        closed = rules.close_session(_session(), T0 + 5)
        s = rules.open_session("NEXT", rules.SINGLE_TRIAL, False, T0 + 6, current=closed)
        assert s.session_id.startswith("NEXT")
        # A time-constrained session past its deadline counts as closed too.
        tc = _session(rules.TIME_CONSTRAINED, timeout_minutes=1)
        assert rules.open_session("NEXT", rules.MULTIPLE_TRIALS, False, T0 + 61, current=tc)

    def test_same_name_in_the_same_second_gets_a_counter(self):
        first = _session()
        closed = rules.close_session(first, T0 + 0.1)
        second = rules.open_session("ROOM", rules.SINGLE_TRIAL, False, T0 + 0.5, current=closed)
        assert second.session_id == first.session_id + "-2"
        third = rules.open_session("ROOM", rules.SINGLE_TRIAL, False, T0 + 0.9,
                                   current=rules.close_session(second, T0 + 0.6), taken={first.session_id})
        assert third.session_id == first.session_id + "-3"
        # Another second, or another name, needs none.
        assert rules.new_session_id("ROOM", T0 + 1, {first.session_id}) == "ROOM" + session_suffix(T0 + 1)
        assert rules.new_session_id("HALL", T0, {first.session_id}) == "HALL" + session_suffix(T0)

    def test_start(self):
        s = _session(synchronized=True)
        assert s.started_at is None and not s.has_started(T0 + 1000)
        started = rules.start_session(s, T0 + 10, 5)
        assert started.synchronize_time == T0 + 15
        assert not started.has_started(T0 + 13.9)
        assert started.has_started(T0 + 15 - rules.START_TOLERANCE_SECONDS)
        # Restarting during the countdown moves it; after the start it is refused.
        assert rules.start_session(started, T0 + 11, 1).synchronize_time == T0 + 12
        with pytest.raises(ApiError) as e:
            rules.start_session(started, T0 + 16, 5)
        assert (e.value.status, e.value.code) == (409, "SessionAlreadyStarted")

    def test_start_refusals(self):
        for s, code in ((None, errors.NO_SESSION_AVAILABLE), (_session(), "SessionNotSynchronized"),
                        (rules.close_session(_session(synchronized=True), T0), errors.SESSION_CLOSED)):
            with pytest.raises(ApiError) as e:
                rules.start_session(s, T0 + 1, 5)
            assert (e.value.status, e.value.code) == (409, code)

    def test_close(self):
        closed = rules.close_session(_session(), T0 + 30)
        assert closed.closing_time == T0 + 30 and closed.is_closed(T0 + 30) and not closed.is_closed(T0 + 29)
        assert closed.document()["ClosingTime"] == to_iso(T0 + 30)
        for s, code in ((None, errors.NO_SESSION_AVAILABLE), (closed, errors.SESSION_CLOSED)):
            with pytest.raises(ApiError) as e:
                rules.close_session(s, T0 + 40)
            assert (e.value.status, e.value.code) == (409, code)

    def test_document(self):
        s = rules.start_session(_session(rules.TIME_CONSTRAINED, True, seats=7, timeout_minutes=3), T0, 5)
        doc = s.document(server_time=T0 + 1)
        assert doc == {"SessionId": s.session_id, "GameType": "TIME_CONSTRAINED", "Synchronized": True,
                       "TotalSeats": 7, "OpeningTime": to_iso(T0), "TimeoutInMinutes": 3,
                       "SynchronizeTime": to_iso(T0 + 5), "ServerTime": to_iso(T0 + 1)}
        assert "ServerTime" not in s.document() and "ClosingTime" not in doc
        json.dumps(doc)


class TestCloseIfDue:
    def test_free_time_constrained_session(self):
        s = _session(rules.TIME_CONSTRAINED, timeout_minutes=1)
        assert s.deadline == T0 + 60
        assert rules.close_if_due(s, T0 + 59.999) is None
        closed = rules.close_if_due(s, T0 + 75)
        assert closed.closing_time == T0 + 60  # closed at the deadline, not when noticed
        assert rules.close_if_due(closed, T0 + 100) is None  # already closed
        assert s.is_closed(T0 + 60) and not s.is_closed(T0 + 59.9)  # closed even before housekeeping

    def test_synchronized_counts_from_the_start(self):
        s = _session(rules.TIME_CONSTRAINED, synchronized=True, timeout_minutes=2)
        assert s.deadline is None and rules.close_if_due(s, T0 + 10**6) is None  # never started
        started = rules.start_session(s, T0 + 100, 10)
        assert started.deadline == T0 + 110 + 120
        assert rules.close_if_due(started, T0 + 229) is None
        assert rules.close_if_due(started, T0 + 231).closing_time == T0 + 230

    def test_other_types_never_close_by_themselves(self):
        for gt in (rules.MULTIPLE_TRIALS, rules.SINGLE_TRIAL):
            assert rules.close_if_due(_session(gt), T0 + 10**7) is None
        assert rules.close_if_due(None, T0) is None

    def test_manual_close_before_the_deadline_wins(self):
        s = rules.close_session(_session(rules.TIME_CONSTRAINED, timeout_minutes=1), T0 + 10)
        assert s.closes_at() == T0 + 10 and rules.close_if_due(s, T0 + 100) is None


class TestCheckAllocate:
    def _refused(self, *args) -> ApiError:
        with pytest.raises(ApiError) as e:
            rules.check_allocate(*args)
        return e.value

    def test_new_and_kept_seat(self):
        s = _session(seats=2)
        assert rules.check_allocate(s, None, 0, T0) is True
        assert rules.check_allocate(s, PLAYING, 2, T0) is False  # seated: keep playing, even when full

    def test_refusals(self):
        s = _session(seats=2)
        cases = [
            ((None, None, 0, T0), errors.NO_SESSION_AVAILABLE),
            ((rules.close_session(s, T0), None, 0, T0), errors.SESSION_CLOSED),
            ((rules.close_session(s, T0), PLAYING, 0, T0), errors.SESSION_CLOSED),
            ((s, None, 2, T0), errors.NO_SEATS_AVAILABLE),
            ((_session(rules.SINGLE_TRIAL), FINISHED, 0, T0), errors.GAMER_CANNOT_PLAY),
            ((_session(rules.TIME_CONSTRAINED), FINISHED, 0, T0), errors.GAMER_CANNOT_PLAY),
            ((_session(rules.TIME_CONSTRAINED, timeout_minutes=1), None, 0, T0 + 60), errors.SESSION_CLOSED),
        ]
        for args, code in cases:
            err = self._refused(*args)
            assert (err.status, err.code) == (422, code), args

    def test_multiple_trials_may_play_again(self):
        assert rules.check_allocate(_session(), FINISHED, 0, T0) is True

    def test_seat_after_leaving(self):
        assert rules.seat_after_leaving(_session(), True) is None
        assert rules.seat_after_leaving(_session(), False) is None
        for gt in (rules.SINGLE_TRIAL, rules.TIME_CONSTRAINED):
            assert rules.seat_after_leaving(_session(gt), True) == FINISHED
            assert rules.seat_after_leaving(_session(gt), False) is None


class TestCheckStatus:
    def test_accepted(self):
        s = _session()
        rules.check_status(s, s.session_id, PLAYING, T0)

    def test_refusals(self):
        s = _session()
        sync = _session(synchronized=True)
        started = rules.start_session(sync, T0, 10)
        cases = [
            ((None, "X", PLAYING, T0), errors.SESSION_MISMATCH),
            ((s, "OTHER", PLAYING, T0), errors.SESSION_MISMATCH),
            ((rules.close_session(s, T0), s.session_id, PLAYING, T0), errors.SESSION_CLOSED),
            ((sync, sync.session_id, PLAYING, T0 + 100), errors.SESSION_NOT_STARTED),
            ((started, started.session_id, PLAYING, T0 + 8.9), errors.SESSION_NOT_STARTED),
            ((s, s.session_id, None, T0), errors.NOT_SEATED),
            ((s, s.session_id, FINISHED, T0), errors.NOT_SEATED),
        ]
        for args, code in cases:
            with pytest.raises(ApiError) as e:
                rules.check_status(*args)
            assert (e.value.status, e.value.code) == (409, code), args
        rules.check_status(started, started.session_id, PLAYING, T0 + 9)  # within the start tolerance


# --- models.decode bounds ---------------------------------------------------------------------------

GOOD = {"SessionId": "ROOM-A261126T221500", "Nickname": "Ab_1.-z", "Score": 0, "Shots": 0, "Level": 1, "Lives": 0,
        "Timestamp": "2026-11-26T22:15:00.000Z"}


def _decode_status(**changes):
    body = {**GOOD, **changes}
    return decode(json.dumps({k: v for k, v in body.items() if v is not ...}).encode(), StatusUpdate)


class TestDecode:
    @pytest.mark.parametrize("field,value", [
        ("Score", 10**9), ("Shots", 10**9), ("Level", 10**4), ("Lives", 99), ("Nickname", "a" * 32),
        ("SessionId", "x" * 40 + "261126T221500-999999"), ("Nickname", "A"), ("SessionId", "R.o_o-m261126T221500-2"),
    ])
    def test_bounds_inside(self, field, value):
        assert getattr(_decode_status(**{field: value}), field) == value

    @pytest.mark.parametrize("field,value", [
        ("Score", -1), ("Score", 10**9 + 1), ("Shots", -1), ("Shots", 10**9 + 1), ("Level", 0),
        ("Level", 10**4 + 1), ("Lives", -1), ("Lives", 100), ("Nickname", "a" * 33), ("Nickname", ""),
        ("Nickname", "a b"), ("Nickname", "a/b"), ("Nickname", "é"), ("SessionId", ""),
        ("SessionId", "x" * 64), ("SessionId", "ünï cødé ok261126T221500"), ("SessionId", "ROOM261126T221500\n"),
        ("SessionId", "ROOM"), ("SessionId", "ROOM261126T2215"), ("SessionId", "x" * 41 + "261126T221500"),
        ("Timestamp", ""), ("Timestamp", "x" * 41), ("Score", "1"), ("Score", 1.5), ("Score", True),
        ("Score", None), ("Lives", [1]), ("Nickname", 5), ("SessionId", {}), ("Score", 2**70),
        ("Score", ...), ("Timestamp", ...),
    ])
    def test_bounds_outside_are_422(self, field, value):
        with pytest.raises(ApiError) as e:
            _decode_status(**{field: value})
        assert (e.value.status, e.value.code) == (422, "ValidationError")
        assert e.value.body()["errorMessage"]

    def test_unknown_fields_are_ignored(self):
        assert _decode_status(Extra=1, Nested={"a": [1]}).Score == 0

    @pytest.mark.parametrize("raw", [b"", b"{", b"{'a': 1}", b"\xff\xfe", b'{"Score": 1,}', b"nul", b"[1,2",
                                     b'{"SessionId": 5,', b'[{"a": 1}'])
    def test_malformed_is_400(self, raw):
        with pytest.raises(ApiError) as e:
            decode(raw, StatusUpdate)
        assert (e.value.status, e.value.code) == (400, "MalformedJson")

    @pytest.mark.parametrize("raw", [b'{"SessionId": "s\xfe"}', b'{"SessionId": {}, "Timestamp": "\xc3("}',
                                     b'\xef\xbb\xbf{}'])
    def test_bad_utf8_is_400(self, raw):
        with pytest.raises(ApiError) as e:
            decode(raw, StatusUpdate)
        assert (e.value.status, e.value.code) == (400, "MalformedJson")

    @pytest.mark.parametrize("raw", [b'{"Extra": ' + b"[" * 2000 + b"]" * 2000 + b"}",
                                     b'{"Extra": ' + b"[" * 2000, b"[" * 5000, b'{"a": ' * 3000])
    def test_deep_nesting_is_refused(self, raw):
        with pytest.raises(ApiError) as e:
            decode(raw, StatusUpdate)
        assert e.value.status in (400, 422)

    @pytest.mark.parametrize("raw", [b"null", b"[]", b"1", b'"text"', b"{}"])
    def test_wrong_shape_is_422(self, raw):
        with pytest.raises(ApiError) as e:
            decode(raw, StatusUpdate)
        assert e.value.status == 422

    def test_other_models(self):
        assert decode(b'{"Username": "bob"}', UsernameBody).Username == "bob"
        o = decode(b'{"GameType": "SINGLE_TRIAL"}', OpenSession)
        defaults = (o.Synchronized, o.SessionName, o.TimeoutInMinutes, o.TotalSeats)
        assert defaults == (False, "SESSION", None, 200)
        assert decode(b"{}", StartSession).CountdownSeconds == 5
        assert decode(b'{"Username": "a", "Password": "p"}', SignIn).Password == "p"
        bad = [
            (b'{"GameType": "OTHER"}', OpenSession),
            (b'{"GameType": "SINGLE_TRIAL", "TimeoutInMinutes": 0}', OpenSession),
            (b'{"GameType": "SINGLE_TRIAL", "TimeoutInMinutes": 31}', OpenSession),
            (b'{"GameType": "SINGLE_TRIAL", "TotalSeats": 0}', OpenSession),
            (b'{"GameType": "SINGLE_TRIAL", "SessionName": "a b"}', OpenSession),
            (b'{"CountdownSeconds": -1}', StartSession), (b'{"CountdownSeconds": 601}', StartSession),
            (b'{"Username": "a b"}', UsernameBody), (b'{"Username": "ok", "Password": "12345"}', SignUp),
            (b'{"Username": "ok", "Password": "123456", "Email": "no-at-sign"}', SignUp),
            (b'{"Username": "", "Password": "p"}', SignIn),
        ]
        for raw, model in bad:
            with pytest.raises(ApiError) as e:
                decode(raw, model)
            assert e.value.status == 422, raw


class TestTime:
    def test_iso_round_trip(self):
        assert to_iso(T0) == "2027-01-15T08:00:00.000Z"
        assert parse_iso(to_iso(T0 + 0.123)) == pytest.approx(T0 + 0.123)
        assert parse_iso("2027-01-15T08:00:00") == T0  # naive: UTC
        assert parse_iso("2027-01-15T09:00:00+01:00") == T0
        assert session_suffix(T0) == "270115T080000"

    @pytest.mark.parametrize("text", ["", "yesterday", "2026-02-30T00:00:00Z", "2026-01-01T25:00:00Z"])
    def test_bad_iso(self, text):
        with pytest.raises(ValueError):
            parse_iso(text)


@settings(max_examples=200)
@given(name=st.from_regex(SESSION_NAME_PATTERN, fullmatch=True), now=st.floats(0, 4_102_444_800),
       taken=st.integers(0, 50))
def test_the_session_ids_the_core_makes_have_the_pattern_status_updates_are_held_to(name, now, taken):
    """One home for the shape of a session id (models.SESSION_ID_PATTERN, which the AWS request model copies)."""
    base = rules.new_session_id(name, now)
    used = {base, *(f"{base}-{n}" for n in range(2, taken + 2))}
    for session_id in (base, rules.new_session_id(name, now, used)):
        assert re.match(SESSION_ID_PATTERN, session_id), session_id
