"Schedules and BBN mixes: values, validation and registry behaviour"
import math, pytest
from nas_lt.core import LTError
from nas_lt.schedules import SCHEDULES, MIXES, get_schedule, get_mix, Schedule, Mix, plot_schedules, plot_mixes

def test_every_schedule_is_stateless_and_positive():
    for name in SCHEDULES:
        s = get_schedule(name)
        assert isinstance(s, Schedule) and repr(s).startswith(name + '(')
        a = [s(e / 3, 30) for e in range(90)]
        assert a == [s(e / 3, 30) for e in range(90)]  # same answer twice: no hidden state
        assert all(v >= 0 and math.isfinite(v) for v in a)

def test_step_milestones_are_fractions():
    s = get_schedule('step', milestones=(0.8, 0.9), gamma=0.01)
    assert [s(e, 200) for e in (159, 160, 180)] == [1, 0.01, 0.01**2]
    assert [s(e, 10) for e in (7.99, 8, 9)] == [1, 0.01, 0.01**2]

def test_warmup_matches_ldam_drw_at_epoch_starts():
    s = get_schedule('warmup_step', warmup=5, milestones=(0.8, 0.9), gamma=0.01)
    assert [round(s(e, 200), 6) for e in range(6)] == [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    c = get_schedule('warmup_cosine', warmup=5)
    assert c(5, 105) == pytest.approx(1.) and c(55, 105) == pytest.approx(0.5) and c(104.999, 105) < 1e-6

def test_cosine_linear_freeze():
    assert get_schedule('cosine', min_mult=0.1)(50, 100) == pytest.approx(0.55)
    assert get_schedule('linear', end_mult=0.)(25, 100) == pytest.approx(0.75)
    f = get_schedule('freeze', frac=0.25)
    assert (f(24.9, 100), f(25, 100)) == (1., 0.)

def test_mixes_match_bbn_code():
    # official BBN: epochs from 1, l = 1 - ((epoch-1)/max_epoch)**2
    p = get_mix('parabolic')
    for ep1 in (1, 50, 200):
        assert p(ep1 - 1, 200) == pytest.approx(1 - ((ep1 - 1) / 200) ** 2)
    assert get_mix('cosine')(100, 200) == pytest.approx(math.cos(math.pi / 4))
    assert get_mix('parabolic_inc')(100, 200) == pytest.approx(0.25)
    assert get_mix('linear')(50, 200) == pytest.approx(0.75)
    assert get_mix('fixed')(3, 10) == 0.5
    st = get_mix('step')  # BBN: l = 1 if epoch <= 120 else 0 (epochs from 1)
    assert (st(119, 200), st(120, 200)) == (1., 0.)
    sym = get_mix('symmetric')
    assert sym(0, 10) == 1 and sym(5, 10) == pytest.approx(0.5) and sym(2, 10) + sym(8, 10) == pytest.approx(1)
    for name in MIXES:
        m = get_mix(name)
        assert isinstance(m, Mix) and all(0 <= v <= 1 for v in m.curve(20, 5)[1])

def test_mix_coupled_follows_mix():
    s = get_schedule('mix_coupled', mix='cosine')
    m = get_mix('cosine')
    assert all(s(e, 40) == m(e, 40) for e in range(40))
    inv = get_schedule('mix_coupled', mix='parabolic', invert=True)
    assert inv(20, 40) == pytest.approx(0.25)

@pytest.mark.parametrize('f,msg', [
    (lambda: get_schedule('nope'), "unknown schedule 'nope'"),
    (lambda: get_schedule('step', milestones=(0.9, 0.8)), 'must increase'),
    (lambda: get_schedule('step', milestones=(0, 0.5)), 'milestone'),
    (lambda: get_schedule('step', gamma=-1), 'gamma'),
    (lambda: get_schedule('cosine', min_mult=2), 'min_mult'),
    (lambda: get_schedule('cosine', foo=1), 'bad settings'),
    (lambda: get_schedule('warmup_cosine', warmup=-2), 'warmup'),
    (lambda: get_schedule('freeze', frac=1.5), 'frac'),
    (lambda: get_schedule('mix_coupled', mix='nope'), "unknown mix 'nope'"),
    (lambda: get_mix('fixed', value=-0.1), 'value'),
    (lambda: get_mix('step', frac='a'), 'frac'),
    (lambda: get_schedule('cosine')(0, 0), 'n_epochs'),
])
def test_bad_settings_raise_lterror(f, msg):
    with pytest.raises(LTError, match=msg.replace('(', r'\(').replace(')', r'\)')): f()

def test_objects_pass_through_and_plot():
    s = get_schedule('cosine', min_mult=0.1)
    assert get_schedule(s) is s and get_schedule('cosine', min_mult=0.1) == s
    fig = plot_schedules(['cosine', s], n_epochs=10, steps_per_epoch=2)
    assert len(fig.data) == 2 and len(fig.data[0].x) == 20
    assert len(plot_mixes(10).data) == len(MIXES)
