"""The reader: what it claims, what it declines, and the layers it gives in a real viewer."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from skimage import io as skio

from napari_focalfuse._napari._qt.fuse_widget import FuseWidget
from napari_focalfuse._napari.reader import get_reader

PLUGIN = "napari-focalfuse"


def test_multipage_rgb_tiff_is_one_layer_z_first(make_napari_viewer, tmp_path, rgb_stack):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, rgb_stack, photometric="rgb")
    viewer = make_napari_viewer()
    layers = viewer.open(path, plugin=PLUGIN)
    assert len(layers) == 1 and len(viewer.layers) == 1
    layer = layers[0]
    assert layer.rgb and layer.data.shape == rgb_stack.shape
    np.testing.assert_array_equal(np.asarray(layer.data[2]), rgb_stack[2])


def test_ome_tiff_z_step_and_pixel_size_become_scale(make_napari_viewer, tmp_path, grey_stack):
    path = tmp_path / "stack.ome.tif"
    tifffile.imwrite(
        path, grey_stack,
        metadata={"axes": "ZYX", "PhysicalSizeZ": 2.5, "PhysicalSizeY": 0.5, "PhysicalSizeX": 0.5},
    )
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin=PLUGIN)
    assert not layer.rgb and layer.data.shape == grey_stack.shape
    np.testing.assert_allclose(layer.scale, [2.5, 0.5, 0.5])

    # the file's z-step reaches the height map, its pixel size the result layers
    widget = FuseWidget(viewer)
    widget.stack.value = layer
    widget.method.value = "laplacian"
    assert widget.run_blocking().error is None
    height = viewer.layers[f"{layer.name} height"]
    np.testing.assert_allclose(height.data, viewer.layers[f"{layer.name} decision map"].data * 2.5)
    np.testing.assert_allclose(height.scale, [0.5, 0.5])


def _write_slices(folder, stack, names):
    folder.mkdir()
    for name, sl in zip(names, stack):
        skio.imsave(folder / name, sl, check_contrast=False)
    return [folder / n for n in names]


def test_folder_in_natural_order(make_napari_viewer, tmp_path, grey_stack):
    names = [f"z{k}.png" for k in (1, 2, 10, 11)]  # natural order 1, 2, 10, 11
    _write_slices(tmp_path / "slices", grey_stack, names)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(tmp_path / "slices", plugin=PLUGIN)
    np.testing.assert_array_equal(np.asarray(layer.data), grey_stack)


def test_several_files_as_one_stack(make_napari_viewer, tmp_path, rgb_stack):
    folder = tmp_path / "files"
    folder.mkdir()
    names = [f"img_{k}.tif" for k in (1, 2, 9, 10)]  # plain string order would be 1, 10, 2, 9
    for name, sl in zip(names, rgb_stack):
        tifffile.imwrite(folder / name, sl, photometric="rgb")
    viewer = make_napari_viewer()
    shuffled = [str(folder / n) for n in reversed(names)]  # dropped in any order
    (layer,) = viewer.open(shuffled, stack=True, plugin=PLUGIN)
    assert layer.rgb
    np.testing.assert_array_equal(np.asarray(layer.data), rgb_stack)


def _offered(path) -> set[str]:
    """The plugins npe2 offers napari for ``path``; two or more make napari ask the user."""
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    return {r.plugin_name for r in pm.iter_compatible_readers([str(path)])}


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg", "photo.JPEG", "scan.bmp"])
def test_ordinary_pictures_open_without_a_reader_choice(make_napari_viewer, tmp_path, rgb_stack, name):
    """npe2 matches readers by file name only; napari shows its "choose a reader" dialog when
    more than one plugin matches. A single photo must match napari's reader alone."""
    from PIL import Image

    path = tmp_path / name
    Image.fromarray(rgb_stack[0]).save(path)
    assert PLUGIN not in _offered(path)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin=None)  # napari's own decision, as after File › Open
    assert layer.source.reader_plugin == "napari"


def test_stacks_are_offered_to_the_plugin(tmp_path, rgb_stack):
    tifffile.imwrite(tmp_path / "stack.tif", rgb_stack, photometric="rgb")
    assert PLUGIN in _offered(tmp_path / "stack.tif")
    assert PLUGIN in _offered(tmp_path / "stack.ome.tiff")
    assert PLUGIN in _offered(tmp_path)  # a folder of slices
    assert get_reader([str(tmp_path / "stack.tif")] * 2) is not None  # several TIFF slices


def test_nanometre_ome_z_step_becomes_a_micrometre_scale(make_napari_viewer, tmp_path, grey_stack):
    path = tmp_path / "nm.ome.tif"
    tifffile.imwrite(path, grey_stack, metadata={
        "axes": "ZYX", "PhysicalSizeZ": 500, "PhysicalSizeZUnit": "nm",
        "PhysicalSizeY": 200, "PhysicalSizeYUnit": "nm", "PhysicalSizeX": 200, "PhysicalSizeXUnit": "nm",
    })  # fmt: skip
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin=PLUGIN)
    np.testing.assert_allclose(layer.scale, [0.5, 0.2, 0.2])
    widget = FuseWidget(viewer)
    widget.stack.value = layer
    widget.method.value = "laplacian"
    assert widget.run_blocking().error is None
    height = viewer.layers["nm height"]
    np.testing.assert_allclose(height.data, viewer.layers["nm decision map"].data * 0.5)
    assert "z-step 0.5 µm" in widget.status.value


def test_a_true_1_um_z_step_is_known(make_napari_viewer, tmp_path, grey_stack):
    """A z scale of 1 is napari's default, but a file saying 1 µm has a z-step of 1 µm."""
    path = tmp_path / "one.ome.tif"
    tifffile.imwrite(path, grey_stack, metadata={"axes": "ZYX", "PhysicalSizeZ": 1.0})
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin=PLUGIN)
    np.testing.assert_allclose(layer.scale, [1.0, 1.0, 1.0])
    widget = FuseWidget(viewer)
    widget.stack.value = layer
    widget.method.value = "laplacian"
    assert widget.run_blocking().error is None
    mask = viewer.layers["one decision map"].data
    assert len(np.unique(mask)) > 1
    np.testing.assert_allclose(viewer.layers["one height"].data, mask * 1.0)


def test_declines_single_images_and_non_images(tmp_path, rgb_stack):
    png = tmp_path / "one.png"
    skio.imsave(png, rgb_stack[0], check_contrast=False)
    single_rgb_tif = tmp_path / "one.tif"
    tifffile.imwrite(single_rgb_tif, rgb_stack[0], photometric="rgb")
    single_grey_tif = tmp_path / "grey.tif"
    tifffile.imwrite(single_grey_tif, rgb_stack[0, ..., 0])
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    fake_tif = tmp_path / "fake.tif"
    fake_tif.write_text("not a tiff either")
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    skio.imsave(lonely / "only.png", rgb_stack[0], check_contrast=False)
    folder_one_stack = tmp_path / "holds_a_stack"
    folder_one_stack.mkdir()
    tifffile.imwrite(folder_one_stack / "s.tif", rgb_stack, photometric="rgb")
    assert get_reader(str(folder_one_stack)) is not None
    for path in (png, single_rgb_tif, single_grey_tif, text, fake_tif, lonely, [png]):
        assert get_reader(str(path) if not isinstance(path, list) else path) is None, path
    assert get_reader([str(png), str(text)]) is None


def test_truncated_stack_raises_error_naming_file(tmp_path, rgb_stack):
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, rgb_stack, photometric="rgb")
    broken = tmp_path / "broken_stack.tif"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    read = get_reader(str(broken))
    assert read is not None  # a multi-page TIFF by its header: ours
    with pytest.raises(Exception, match="broken_stack.tif"):
        read(str(broken))


def test_two_samples_per_pixel_open_as_two_channel_layers(tmp_path):
    """Samples that are not RGB(A) (here 2 per pixel) are channels: one (Z, Y, X) layer each,
    never one 4-D layer that would pass for a time-lapse."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, (4, 32, 40, 2), np.uint16)
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, data, photometric="minisblack", planarconfig="contig")
    layers = get_reader(str(path))(str(path))
    assert len(layers) == 1
    stack, kwargs, kind = layers[0]
    assert kind == "image" and kwargs["channel_axis"] == -1 and len(kwargs["name"]) == 2
    np.testing.assert_array_equal(np.asarray(stack), data)
