"Tests of nas_lt.widgets: figure data, slider/menu wiring, live explorers, and the static figures in a real browser"
import json, math, os, shutil, subprocess, tempfile
from pathlib import Path
import pytest
from nas_lt.core import LTError
from nas_lt.data import lt_counts
from nas_lt.losses import cb_weights, inv_weights
from nas_lt.metrics import shot_groups
from nas_lt.schedules import SCHEDULES, MIXES, get_schedule, get_mix, Schedule
from nas_lt.widgets import (imbalance_data, imbalance_plot, imbalance_figure, imbalance_explorer, lr_plot, lr_figure,
                            lr_explorer, RATIOS)


def bars(fig, start=0):
    "class -> count from the three group bar traces starting at `start` (x given or x0/dx)"
    out = {}
    for t in fig.data[start:start + 3]:
        xs = t.x if t.x is not None else [t.x0 + i * t.dx for i in range(len(t.y))]
        out.update(zip(xs, t.y))
    return out


@pytest.mark.parametrize("ratio,n,profile", [(100, 10, "exp"), (50, 100, "exp"), (10, 10, "step"), (1, 7, "exp")])
def test_imbalance_plot_counts_and_weights(ratio, n, profile):
    fig = imbalance_plot(ratio, n, profile, beta=(0.9, 0.9999))
    c = lt_counts(500, n, ratio, profile)
    assert bars(fig) == dict(enumerate(c))
    g = shot_groups(c)
    for t, k in zip(fig.data[:3], ("many", "medium", "few")):
        assert list(t.x) == g[k] and t.name == f"{k} ({len(g[k])})"
    assert list(fig.data[3].y) == pytest.approx(cb_weights(c, 0.9).tolist(), rel=1e-3)
    assert list(fig.data[4].y) == pytest.approx(cb_weights(c, 0.9999).tolist(), rel=1e-3)
    assert list(fig.data[5].y) == pytest.approx(inv_weights(c).tolist(), rel=1e-3)
    assert str(sum(c)) in fig.layout.title.text


def test_imbalance_data_errors():
    with pytest.raises(LTError, match="use a ratio of at most 500"): imbalance_data(1000, 10, n_max=500)
    with pytest.raises(LTError, match="ratio"): imbalance_data(0.5, 10)
    with pytest.raises(LTError, match="beta"): imbalance_data(10, 10, betas=(1.0,))


def test_imbalance_figure_slider_and_menu():
    F = imbalance_figure(ratios=(1, 10, 100), class_choices=(10, 20), betas=(0.999,), ratio=10)
    per, combos = 3 + 1 + 1, [("exp", 10), ("step", 10), ("exp", 20), ("step", 20)]
    sl = F.layout.sliders[0]
    assert len(sl.steps) == 3 and sl.active == 1 and [s.label for s in sl.steps] == ["1", "10", "100"]
    assert len(F.data) == per * len(combos)
    assert [t.visible for t in F.data] == [True] * per + [False] * per * 3
    for step, r in zip(sl.steps, (1, 10, 100)):
        d = step.args[0]
        for k, (p, n) in enumerate(combos):
            c = lt_counts(500, n, r, p)
            ys, x0 = d["y"][k * per:k * per + 3], d["x0"][k * per:k * per + 3]
            assert {x + i: v for x, y in zip(x0, ys) for i, v in enumerate(y)} == dict(enumerate(c))
            assert d["y"][k * per + 3] == pytest.approx(cb_weights(c, 0.999).tolist(), rel=1e-3)
    menu = F.layout.updatemenus[0].buttons
    assert [b.label for b in menu] == [f"{p} profile, {n} classes" for p, n in combos]
    for k, b in enumerate(menu):
        assert b.args[0]["visible"] == [j // per == k for j in range(per * 4)]
    assert len(imbalance_figure().layout.sliders[0].steps) == len(RATIOS)
    with pytest.raises(LTError, match=">= 1"): imbalance_figure(ratios=(0.5, 2))


def test_imbalance_explorer_builds_and_redraws():
    ex = imbalance_explorer(ratio=10, n_classes=10, profile="step", beta=0.99)
    assert bars(ex.fig) == dict(enumerate(lt_counts(500, 10, 10, "step")))
    assert set(ex.controls) == {"ratio", "n_classes", "profile", "beta", "n_max"}
    ex.controls["profile"].value = "exp"; ex.controls["n_classes"].value = 30; ex.controls["beta"].value = 0.9999
    assert bars(ex.fig) == dict(enumerate(lt_counts(500, 30, 10, "exp")))
    assert list(ex.fig.data[3].y) == pytest.approx(cb_weights(lt_counts(500, 30, 10), 0.9999).tolist(), rel=1e-3)
    ex.controls["n_max"].value = 50; ex.controls["ratio"].value = 100
    assert ex.fig is None and "use a ratio of at most 50 " in ex.message
    ex.controls["ratio"].value = 10
    assert ex.fig is not None and ex.message is None
    assert ex.widget.children[-1] is ex.out
    ex.close()
    with pytest.raises(LTError, match="beta"): imbalance_explorer(beta=0.5)


def test_lr_plot_values():
    f = lr_plot("warmup_cosine", "freeze", "linear", n_epochs=10, weight_lr=0.1, arch_lr=1e-3)
    w, a, m, m1 = (list(t.y) for t in f.data)
    assert w == pytest.approx([0.1 * get_schedule("warmup_cosine")(e, 10) for e in range(10)], rel=1e-3)
    assert a == pytest.approx([1e-3] * 5 + [0.] * 5)
    assert m == pytest.approx([1 - e / 10 for e in range(10)], rel=1e-3)
    assert [x + y for x, y in zip(m, m1)] == pytest.approx([1.] * 10)
    f2 = lr_plot(n_epochs=4, steps_per_epoch=4)
    assert len(f2.data[0].y) == 16 and f2.data[0].dx == 0.25
    with pytest.raises(LTError, match="unknown schedule"): lr_plot("nope")
    with pytest.raises(LTError, match="unknown mix"): lr_plot(mix="nope")


def test_lr_figure_menus_follow_registries():
    L = lr_figure(n_epochs=20)
    menus = L.layout.updatemenus
    assert [len(m.buttons) for m in menus] == [len(SCHEDULES), len(SCHEDULES) + len(MIXES), len(MIXES)]
    for m, first in zip(menus, ("cosine", "constant", "parabolic")):
        vis = m.buttons[m.active].args
        assert [L.data[i].visible for i in vis[1]] == vis[0]["visible"]  # the active entry is the one shown
        assert first in m.buttons[m.active].label
    # each weight-menu entry shows exactly its own curve, equal to the schedule times the base LR
    for name, b in zip(SCHEDULES, menus[0].buttons):
        shown = [i for i, v in zip(b.args[1], b.args[0]["visible"]) if v]
        assert len(shown) == 1
        assert list(L.data[shown[0]].y) == pytest.approx([0.025 * get_schedule(name)(e, 20) for e in range(20)], rel=1e-3, abs=1e-9)
    # a newly registered schedule appears without changing the widgets module
    @SCHEDULES.register("test_half")
    class Half(Schedule):
        name = "test_half"
        def f(self, e, n): return 0.5
    try:
        L2 = lr_figure(n_epochs=5)
        assert "weight: test_half" in [b.label for b in L2.layout.updatemenus[0].buttons]
        assert "test_half" in lr_explorer(n_epochs=5).menus["arch"].options
    finally:
        del SCHEDULES["test_half"]
    with pytest.raises(LTError, match="not among the choices"): lr_figure(weights=["cosine"], weight="step")
    L3 = lr_figure(weights={"fast": get_schedule("cosine"), "slow": "constant"}, weight="slow", n_epochs=3)
    assert [b.label for b in L3.layout.updatemenus[0].buttons] == ["weight: fast", "weight: slow"]


def test_lr_explorer_params_for_every_entry():
    lx = lr_explorer(n_epochs=10)
    for k, reg in (("weight", SCHEDULES), ("arch", SCHEDULES), ("mix", MIXES)):
        for name in reg:
            lx.menus[k].value = name
            assert lx.fig is not None, (k, name, lx.message)
            built = lx.chosen()[k]
            assert repr(built) == repr(get_mix(name) if reg is MIXES else get_schedule(name))
    lx.menus["weight"].value = "warmup_step"
    p = lx.params["weight"]
    assert set(p) == {"warmup", "milestones", "gamma"}
    p["warmup"].value = 2; p["milestones"].value = "(0.5,)"; p["gamma"].value = 0.5
    assert lx.chosen()["weight"] == get_schedule("warmup_step", warmup=2, milestones=(0.5,), gamma=0.5)
    assert list(lx.fig.data[0].y) == pytest.approx([0.025 * lx.chosen()["weight"](e, 10) for e in range(10)], rel=1e-3)
    p["milestones"].value = "(0.5"
    assert lx.fig is None and "cannot read" in lx.message
    p["milestones"].value = "(0.5,)"
    lx.run["n_epochs"].value = 30; lx.run["arch_lr"].value = 1e-2
    assert len(lx.fig.data[1].y) == 30 and lx.fig.data[1].y[0] == pytest.approx(1e-2)
    lx.close()


BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


@pytest.mark.skipif(BROWSER is None, reason="no Chromium")
def test_static_figures_in_browser(tmp_path):
    "plotly.js applies the slider steps and menu entries as stored in the figures (no kernel involved)"
    import plotly.io as pio
    F, L = imbalance_figure(ratios=(1, 50, 100), class_choices=(10, 100)), lr_figure(n_epochs=20)
    js = """<script>
    function run(){ var out = {}, gd = document.getElementById('imb'), st = gd.layout.sliders[0].steps[1],
      b = gd.layout.updatemenus[0].buttons[2];
      Plotly[st.method](gd, st.args[0]).then(function(){ return Plotly[b.method](gd, b.args[0]); }).then(function(){
        out.shown = gd.data.map(function(t, i){ return t.visible ? i : -1; }).filter(function(i){ return i >= 0; });
        out.bars = [14, 15, 16].map(function(i){ return gd.calcdata[i].map(function(c){ return [c.p, c.s]; }); });
        var g = document.getElementById('lr'), m = g.layout.updatemenus[1], k = m.buttons.length - 1;
        return Plotly[m.buttons[k].method](g, m.buttons[k].args[0], m.buttons[k].args[1]).then(function(){
          out.lr = g.data.filter(function(t){ return t.visible === true; }).map(function(t){ return t.name; }); });
      }).then(function(){ document.getElementById('res').textContent = JSON.stringify(out); })
      .catch(function(e){ document.getElementById('res').textContent = 'ERR ' + e; }); }
    setTimeout(run, 300);</script>"""
    html = ('<html><head><meta charset="utf-8"></head><body>' + pio.to_html(F, include_plotlyjs=True, full_html=False, div_id='imb')
            + pio.to_html(L, include_plotlyjs=False, full_html=False, div_id='lr') + '<pre id="res">none</pre>' + js + '</body></html>')
    page = tmp_path / "w.html"; page.write_text(html)
    r = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=8000",
                        "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    res = r.stdout.split('<pre id="res">')[1].split("</pre>")[0]
    assert not res.startswith(("ERR", "none")), res
    out = json.loads(res)
    assert 14 in out["shown"] and 0 not in out["shown"]  # third menu entry: exp profile, 100 classes
    got = {int(p): int(s) for tr in out["bars"] for p, s in tr}
    assert got == dict(enumerate(lt_counts(500, 100, 50)))  # slider step 'ratio 50' drawn by plotly.js
    last_mix = list(MIXES)[-1]
    assert out["lr"][1] == f"arch: {get_schedule('mix_coupled', mix=last_mix)!r}"
