"""`bench run --model PATH` on diffusion-transformer pipelines: the model's own flow-matching scheduler."""

import pytest

import daam
import db
from benchmark.cli import main


@pytest.mark.parametrize("family", ["flux", "sd3", "pixart"])
def test_bench_run_on_a_dit_folder(tmp_path, dit_paths, family, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a dog and a cat\na red car\n")
    ws = tmp_path / "ws"
    code = main(
        [
            "run",
            "--prompts",
            str(prompts),
            "--split",
            "prompts",
            "--model",
            str(dit_paths[family]),
            "--steps",
            "2",
            "--height",
            "64",
            "--width",
            "64",
            "--workspace",
            str(ws),
            "--no-report",
            "--threads",
            "1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    store = db.connect(None, workspace=ws)
    (run,) = store.runs()
    # flow matching (SD3, FLUX) samples with the model's own scheduler; PixArt is DDPM-trained
    assert run.settings["scheduler"] == ("dpm" if family == "pixart" else None)
    gens = store.generations(run.id)
    assert len(gens) == 2 and all(g.status == "done" for g in gens)
    maps = store.word_maps(gens[0].id)
    gm = daam.load(ws / maps[0].path)
    assert gm.word_map(maps[0].word, maps[0].occurrence).soft.shape == (64, 64)
    assert gm.encoders == (["clip", "t5"] if family == "sd3" else ["t5"])


def test_a_unet_scheduler_on_a_flow_matching_model_is_a_one_line_error(tmp_path, dit_paths, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a dog\n")
    code = main(
        [
            "run",
            "--prompts",
            str(prompts),
            "--split",
            "prompts",
            "--model",
            str(dit_paths["flux"]),
            "--scheduler",
            "dpm",
            "--steps",
            "2",
            "--height",
            "64",
            "--width",
            "64",
            "--workspace",
            str(tmp_path / "ws"),
            "--no-report",
            "--threads",
            "1",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and "use --scheduler model" in err[-1] and "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("method", ["conceptattention", "conceptattention-cross", "daam-vocabulary"])
def test_generation_methods_beyond_daam_trace_a_dit_run(tmp_path, dit_paths, method):
    """ConceptAttention and DAAM + vocabulary generate a run themselves: the runner tells their
    tracer the batch's words (concepts, vocabulary); their stored maps answer every word."""
    from baselines.io import load_output
    from baselines.runner import output_path, run_baseline
    from benchmark.runner import RunConfig, run

    prompts = tmp_path / "p.txt"
    prompts.write_text("a dog and a cat\na red car\n")
    ws = tmp_path / "ws"
    config = RunConfig(
        split="prompts",
        model=str(dit_paths["flux"]),
        prompts_file=prompts,
        steps=2,
        height=64,
        width=64,
        workspace=ws,
        batch_size=2,
        progress=False,
        score=False,
        generation_method=method,
        scheduler=None,  # the model's own (flow matching)
    )
    summary = run(config)
    assert summary.done == 2 and summary.failed == 0
    store = db.connect(None, workspace=ws)
    assert run_baseline(store, ws, summary.run, method, progress=False).computed == 2
    for g in store.generations(store.get_run(summary.run).id):
        words = store.get_prompt(g.prompt_id).words
        assert {r.method for r in store.word_maps(g.id)} == {method}
        out = load_output(ws / output_path(method, g.id))
        assert list(out.maps) == list(words) and all(m.shape == (64, 64) for m in out.maps.values())
        assert all(m.max() == 1.0 for m in out.maps.values())  # normalised maps, one per word
