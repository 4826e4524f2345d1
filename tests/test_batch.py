"""Batch fusion: many stacks in, fused image + decision map out, failures reported per stack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask")
tifffile = pytest.importorskip("tifffile")

from napari_focalfuse.batch import BatchItem, expand_inputs, fuse_many

H, W, N = 64, 96, 4


def _rendered(rgb: bool, seed: int) -> np.ndarray:
    """(N, 64, 96[, 3]) float32 in [0, 1]: a held-out motorcycle crop with a depth ramp."""
    from napari_focalfuse.core.synthetic import render_focal_stack

    from .held_out import motorcycle

    y, x = ((240, 368), (56, 400), (264, 160))[seed]
    image = motorcycle(y, x, H, W, grey=not rgb)
    ramp = np.tile(np.linspace(0.0, 1.0, W, dtype=np.float32), (H, 1))
    return render_focal_stack(image, ramp, n_slices=N, max_blur=4.0, levels=8, seed=seed).stack


@pytest.fixture()
def three_stacks(tmp_path: Path) -> dict[str, Path]:
    """A uint16 grey multi-page TIFF, a folder of uint8 RGB PNG slices, a float32 RGB TIFF."""
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    grey16 = src / "grey16.tif"
    tifffile.imwrite(grey16, np.rint(_rendered(False, 0) * 65535).astype(np.uint16), photometric="minisblack")
    folder = src / "rgb8"
    folder.mkdir()
    for z, sl in enumerate(np.rint(_rendered(True, 1) * 255).astype(np.uint8)):
        Image.fromarray(sl).save(folder / f"slice_{z + 1}.png")
    float_rgb = src / "float_rgb.tif"
    tifffile.imwrite(float_rgb, _rendered(True, 2), photometric="rgb")
    return {"grey16": grey16, "rgb8": folder, "float_rgb": float_rgb}


def _read(path: str | None) -> np.ndarray:
    assert path is not None
    return tifffile.imread(path)


def test_fuse_many_writes_fused_image_and_map_per_stack(three_stacks, tmp_path):
    out = tmp_path / "out"
    items = fuse_many(list(three_stacks.values()), out, method="laplacian", workers=2)

    assert [i.ok for i in items] == [True, True, True], [i.error for i in items]
    expected = {"grey16": ((H, W), np.uint16), "rgb8": ((H, W, 3), np.uint8), "float_rgb": ((H, W, 3), np.float32)}
    for item, (name, (shape, dtype)) in zip(items, expected.items()):
        assert Path(item.fused_path).name == f"{name}_fused.tif"
        fused, mask = _read(item.fused_path), _read(item.mask_path)
        assert fused.shape == shape and fused.dtype == dtype
        assert mask.shape == (H, W) and mask.dtype == np.uint8
        assert 0 <= mask.min() and mask.max() < N
        assert len(np.unique(mask)) > 1  # a depth ramp is not one slice everywhere
    assert not list(out.glob(".*.part"))  # atomic writes leave no temporary files


def test_fused_pixels_come_from_the_slices_the_map_names(three_stacks, tmp_path):
    items = fuse_many([three_stacks["grey16"]], tmp_path / "out", weights="random", soften=False)
    stack = tifffile.imread(three_stacks["grey16"])
    fused, mask = _read(items[0].fused_path), _read(items[0].mask_path)
    np.testing.assert_array_equal(fused, np.take_along_axis(stack, mask[None].astype(int), 0)[0])


def test_a_broken_stack_reports_its_error_and_the_others_complete(three_stacks, tmp_path):
    broken = tmp_path / "in" / "broken.tif"
    broken.write_bytes(b"II*\x00 this is not really a TIFF file")
    missing = tmp_path / "in" / "nowhere"
    done: list[BatchItem] = []
    items = fuse_many(
        [three_stacks["grey16"], broken, missing, three_stacks["rgb8"]],
        tmp_path / "out", method="laplacian", on_done=done.append,
    )
    assert [i.ok for i in items] == [True, False, False, True]
    assert "broken.tif" in items[1].error and "\n" not in items[1].error
    assert "nowhere" in items[2].error
    assert not Path(items[1].fused_path).exists()
    assert sorted(i.input for i in done) == sorted(i.input for i in items)


def test_refuses_to_overwrite_unless_asked(three_stacks, tmp_path):
    out = tmp_path / "out"
    first = fuse_many([three_stacks["grey16"]], out, method="laplacian")[0]
    stamp = Path(first.fused_path).stat().st_mtime_ns
    again = fuse_many([three_stacks["grey16"]], out, method="laplacian")[0]
    assert not again.ok and "already exists" in again.error
    assert Path(first.fused_path).stat().st_mtime_ns == stamp
    assert fuse_many([three_stacks["grey16"]], out, method="laplacian", overwrite=True)[0].ok


def test_expand_inputs_folders_of_stacks_globs_and_name_clashes(three_stacks, tmp_path):
    root = tmp_path / "in"
    # a folder of stack files and stack folders: one stack each
    assert [s.name for s in expand_inputs(root)] == ["float_rgb", "grey16", "rgb8"]
    tiffs = expand_inputs(str(root / "*.tif"))
    assert sorted(s.name for s in tiffs) == ["float_rgb", "grey16"]
    slices = expand_inputs(str(root / "rgb8" / "slice_*.png"))
    assert len(slices) == 1 and slices[0].name == "rgb8" and len(slices[0].source) == N
    nothing = expand_inputs(str(root / "*.jpg"))
    assert nothing[0].problem and "matches no files" in nothing[0].problem
    twice = expand_inputs([three_stacks["grey16"], three_stacks["grey16"]])
    assert [s.name for s in twice] == ["grey16", "grey16-2"]


def test_folder_of_multipage_tiffs_is_one_stack_per_file(three_stacks, tmp_path):
    folder = tmp_path / "tiffs"
    folder.mkdir()
    for key in ("grey16", "float_rgb"):
        (folder / three_stacks[key].name).write_bytes(three_stacks[key].read_bytes())
    assert sorted(s.name for s in expand_inputs(folder)) == ["float_rgb", "grey16"]


def test_torch_thread_setting_is_restored(three_stacks, tmp_path):
    import torch

    before = torch.get_num_threads()
    fuse_many(list(three_stacks.values()), tmp_path / "out", method="laplacian", workers=3)
    assert torch.get_num_threads() == before


def test_distributed_cluster_address(three_stacks, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        items = fuse_many(
            [three_stacks["grey16"], tmp_path / "missing.tif"], tmp_path / "out",
            scheduler=cluster.scheduler_address, method="laplacian",
        )
    assert items[0].ok, items[0].error
    assert _read(items[0].fused_path).shape == (H, W)
    assert not items[1].ok and "missing.tif" in items[1].error


@pytest.mark.slow
def test_process_scheduler(three_stacks, tmp_path):
    items = fuse_many(
        [three_stacks["grey16"], three_stacks["rgb8"]], tmp_path / "out",
        scheduler="processes", workers=2, method="laplacian",
    )
    assert all(i.ok for i in items), [i.error for i in items]


def test_unknown_scheduler_is_refused(three_stacks, tmp_path):
    from napari_focalfuse.core.errors import FocalFuseError

    with pytest.raises(FocalFuseError, match="Unknown scheduler"):
        fuse_many([three_stacks["grey16"]], tmp_path / "out", scheduler="gpu-cloud")


def test_concurrency_shrinks_to_what_fits_in_memory(three_stacks, monkeypatch):
    """Workers = free memory // the largest stack's need, capped by the limit, never zero.

    The needs are set here (10, 30 and 40 MB) so the expectation does not come from the code
    under test.
    """
    from napari_focalfuse.batch import memory_workers
    from napari_focalfuse.io import limits

    mb = 2**20
    need = {(np.dtype(np.uint16), 2): 10 * mb, (np.dtype(np.uint8), 3): 30 * mb,
            (np.dtype(np.float32), 3): 40 * mb}  # fmt: skip
    asked = []

    def fake_need(shape, dtype, method, scale):
        asked.append((method, scale))
        return need[(np.dtype(dtype), shape[3] if len(shape) > 3 else 2)]

    monkeypatch.setattr(limits, "fusion_bytes", fake_need)
    specs = expand_inputs(list(three_stacks.values()))
    for free, limit, expected in [(100 * mb, 3, 2), (80 * mb, 3, 2), (79 * mb, 3, 1),
                                  (39 * mb, 3, 1), (10**12, 3, 3), (10**12, 2, 2)]:  # fmt: skip
        monkeypatch.setattr(limits, "available_memory", lambda free=free: free)
        assert memory_workers(specs, limit, "deep", 1) == expected, (free, limit)
    asked.clear()  # (readers also ask, for the cheapest method at scale 1)
    memory_workers(specs, 3, "deep", "auto")
    assert {a for a in asked if a[0] == "deep"} == {("deep", 1)}  # "auto" as full resolution
    asked.clear()
    memory_workers(specs, 3, "laplacian", 2)
    assert ("laplacian", 2) in asked


def test_batch_passes_time_channel_and_z_step_to_every_stack(tmp_path, capsys):
    """A TCZYX file that fuses alone with --time 1 --channel 0 fuses the same in batch mode,
    with the z-step given on the command line."""
    from napari_focalfuse.cli import main

    stack = np.rint(_rendered(False, 0) * 65535).astype(np.uint16)
    hyper = np.zeros((2, 2, N, H, W), np.uint16)
    hyper[1, 0] = stack  # the only time point and channel with the focal stack
    hyper[0, 0] = hyper[1, 1] = stack[::-1]
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        meta = {"axes": "TCZYX", "PhysicalSizeZ": 500, "PhysicalSizeZUnit": "nm"}
        tifffile.imwrite(src / f"{name}.ome.tif", hyper, ome=True, metadata=meta)
    common = ["--method", "laplacian", "--time", "1", "--channel", "0", "-q"]
    assert main(["fuse", str(src / "a.ome.tif"), "-o", str(tmp_path / "alone.tif"),
                 "--mask", str(tmp_path / "alone_mask.tif"), *common]) == 0  # fmt: skip
    assert main(["fuse", "--batch", str(src), "-o", str(tmp_path / "out"), "--z-step", "2.5",
                 *common]) == 0, capsys.readouterr().err  # fmt: skip
    alone = tifffile.imread(tmp_path / "alone.tif")
    for name in ("a", "b"):
        np.testing.assert_array_equal(tifffile.imread(tmp_path / "out" / f"{name}_fused.tif"), alone)
        np.testing.assert_array_equal(
            tifffile.imread(tmp_path / "out" / f"{name}_mask.tif"),
            tifffile.imread(tmp_path / "alone_mask.tif"),
        )
        with tifffile.TiffFile(tmp_path / "out" / f"{name}_mask.tif") as tf:
            assert tf.shaped_metadata[0]["z_step"] == 2.5  # --z-step, not the file's 0.5 µm
    # without --z-step each file's own, converted to µm
    items = fuse_many([src / "a.ome.tif"], tmp_path / "own", method="laplacian", time=1, channel=0)
    assert items[0].ok, items[0].error
    with tifffile.TiffFile(items[0].mask_path) as tf:
        assert tf.shaped_metadata[0]["z_step"] == pytest.approx(0.5)
    assert "4 slices of a.ome.tif" == items[0].read
    missing = fuse_many([src / "a.ome.tif"], tmp_path / "none", method="laplacian")
    assert not missing[0].ok and "choose a channel" in missing[0].error  # a time-lapse


def test_batch_threads_share_the_cores(three_stacks, tmp_path, monkeypatch):
    import torch

    import napari_focalfuse.batch as batch

    seen = []
    real = batch._task_threads
    monkeypatch.setattr(batch, "cpu_count", lambda: 16)
    monkeypatch.setattr(
        batch, "_task_threads", lambda c, cores=None: seen.append(real(c, cores)) or 1
    )
    fuse_many(list(three_stacks.values()), tmp_path / "a", method="laplacian", workers=2, threads=4)
    assert seen == [2, 2, 2]  # 4 threads shared by 2 stacks at a time
    seen.clear()
    fuse_many(list(three_stacks.values()), tmp_path / "b", method="laplacian", workers=2)
    assert seen == [8, 8, 8]  # no limit: all 16 cores
    assert torch.get_num_threads() >= 1


def test_cli_batch_warns_about_a_stack_given_twice(three_stacks, tmp_path, capsys):
    from napari_focalfuse.cli import main

    grey = str(three_stacks["grey16"])
    args = ["fuse", "--batch", grey, grey, "-o", str(tmp_path / "o"), "--method", "laplacian"]
    assert main([*args, "-q"]) == 0
    err = capsys.readouterr().err
    assert "warning: " + grey + " is given twice; it is fused as grey16 and grey16-2." in err
    assert "grey16.tif: 4 slices of grey16.tif" in err


def test_cli_batch_fuses_a_folder_of_stacks_and_reports_failures(three_stacks, tmp_path, capsys):
    from napari_focalfuse.cli import main

    (three_stacks["grey16"].parent / "broken.tif").write_bytes(b"II*\x00 not really a tiff")
    out = tmp_path / "batch-out"
    status = main(["fuse", "--batch", str(three_stacks["grey16"].parent), "-o", str(out),
                   "--method", "laplacian", "--workers", "2", "-q"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and "broken" in err and "Traceback" not in err
    for name, dtype in (("grey16", np.uint16), ("rgb8", np.uint8), ("float_rgb", np.float32)):
        assert tifffile.imread(out / f"{name}_fused.tif").dtype == dtype
        assert tifffile.imread(out / f"{name}_mask.tif").max() < N
    assert not (out / "broken_fused.tif").exists()


def test_batch_fuses_every_time_point_of_each_time_lapse(tmp_path, capsys):
    """Two TZYX files: each becomes <name>_fused.tif and <name>_mask.tif T-stacks, frame t as
    the single run with --time t makes it; --aligned-stack fails that stack with a sentence."""
    from napari_focalfuse.cli import main

    from .timelapse_data import rendered_timelapse

    src = tmp_path / "movies"
    src.mkdir()
    movies = {"a": rendered_timelapse(), "b": rendered_timelapse()[::-1]}
    for name, movie in movies.items():
        tifffile.imwrite(src / f"{name}.tif", movie, imagej=True, metadata={"axes": "TZYX"})
    common = ["--method", "laplacian", "-q"]
    assert main(["fuse", "--batch", str(src), "-o", str(tmp_path / "out"), *common]) == 0
    err = capsys.readouterr().err
    assert "a.tif: 3 time points x 4 slices of a.tif" in err and "fused 2 of 2 stacks" in err
    for name in movies:
        with tifffile.TiffFile(tmp_path / "out" / f"{name}_fused.tif") as tf:
            assert tf.series[0].axes == "TYX" and tf.series[0].shape == (3, 64, 64)
        fused = tifffile.imread(tmp_path / "out" / f"{name}_fused.tif")
        mask = tifffile.imread(tmp_path / "out" / f"{name}_mask.tif")
        one = tmp_path / f"{name}1.tif"
        assert main(["fuse", str(src / f"{name}.tif"), "--time", "1", "-o", str(one),
                     "--mask", str(tmp_path / f"{name}1_mask.tif"), *common]) == 0  # fmt: skip
        np.testing.assert_array_equal(fused[1], tifffile.imread(one))
        np.testing.assert_array_equal(mask[1], tifffile.imread(tmp_path / f"{name}1_mask.tif"))
    items = fuse_many([src / "a.tif"], tmp_path / "aligned", method="laplacian", aligned_stacks=True)
    assert not items[0].ok and "--aligned-stack writes one focal stack" in items[0].error
    assert list((tmp_path / "aligned").iterdir()) == []


def test_batch_writes_height_surface_and_confidence_maps(three_stacks, tmp_path, capsys):
    """Bare --height/--surface/--confidence give <name>_<kind>.tif per stack, equal to what the
    single-stack command writes; a path is refused, and so is a map needing a missing z-step."""
    from napari_focalfuse.cli import main

    src = three_stacks["grey16"]
    common = ["--method", "laplacian", "--z-step", "2", "-q"]
    maps = ["--height", "--surface", "--confidence"]
    assert main(["fuse", "--batch", str(src), "-o", str(tmp_path / "out"), *maps, *common]) == 0
    single = {k: tmp_path / f"one_{k}.tif" for k in ("height", "surface", "confidence")}
    options = [a for k, path in single.items() for a in (f"--{k}", str(path))]
    assert main(["fuse", str(src), "-o", str(tmp_path / "one.tif"), *options, *common]) == 0
    for kind, path in single.items():
        written = tifffile.imread(tmp_path / "out" / f"grey16_{kind}.tif")
        assert written.shape == (H, W) and written.dtype == np.float32
        np.testing.assert_array_equal(written, tifffile.imread(path))
    capsys.readouterr()

    assert main(["fuse", "--batch", str(src), "-o", str(tmp_path / "x"), "--height", "h.tif"]) == 2
    assert "With --batch give --height without a path" in capsys.readouterr().err
    items = fuse_many([src], tmp_path / "nostep", method="laplacian", maps=("surface",))
    assert not items[0].ok and "pass --z-step to write a surface height map" in items[0].error
    assert list((tmp_path / "nostep").iterdir()) == []


def test_bare_map_options_write_beside_the_fused_image(three_stacks, tmp_path, capsys):
    from napari_focalfuse.cli import main

    out = tmp_path / "res.tif"
    args = ["fuse", str(three_stacks["grey16"]), "-o", str(out), "--height", "--confidence"]
    assert main([*args, "--z-step", "1.5", "--method", "laplacian", "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tif") == [
        "res.tif", "res_confidence.tif", "res_height.tif"
    ]
    assert tifffile.imread(tmp_path / "res_height.tif").max() <= 1.5 * (N - 1)
