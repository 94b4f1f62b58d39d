"""Config loading: the recipes hold the paper's numbers, overrides are typed, mistakes are named."""
import pathlib

import pytest
import yaml

from seg.config import Config, ConfigError, config_from_dict, config_to_dict, load_config

CONFIGS = pathlib.Path(__file__).resolve().parent.parent / "configs"
R50 = CONFIGS / "deeplabv3plus_r50_os8_partial_cityscapes.yaml"

# Section 4.2 of the paper, written out independently of the YAML files.
PAPER = {
    "deeplabv3plus_r50": dict(name="deeplabv3plus_resnet50", lr=3e-2, crop=896),
    "deeplabv3plus_wrn38": dict(name="deeplabv3plus_wrn38", lr=1e-2, crop=736),
}


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("deeplabv3plus_*.yaml")), ids=lambda p: p.stem)
def test_every_recipe_loads_and_its_name_says_its_padding(path):
    cfg = load_config(path)
    assert cfg.run_name == path.stem
    padding = "zeros" if "_zero_" in path.stem else "partial"
    assert cfg.model.padding == padding and cfg.model.output_stride == 8


@pytest.mark.parametrize("arch", sorted(PAPER))
@pytest.mark.parametrize("padding", ["zero", "partial"])
def test_cityscapes_recipes_follow_the_paper(arch, padding):
    cfg = load_config(CONFIGS / f"{arch}_os8_{padding}_cityscapes.yaml")
    paper = PAPER[arch]
    assert cfg.model.name == paper["name"] and cfg.model.pretrained_backbone is None  # from scratch
    assert cfg.train.lr == paper["lr"] and cfg.data.crop_size == paper["crop"]
    assert (cfg.train.iterations, cfg.train.batch_size) == (31000, 2)
    assert (cfg.train.momentum, cfg.train.weight_decay, cfg.train.poly_power) == (0.9, 1e-4, 1.0)
    assert (
        cfg.data.coarse
        and cfg.data.class_uniform_fraction > 0
        and cfg.data.scale_range == (0.5, 2.0)
    )


def test_overrides_are_parsed_to_the_field_types():
    cfg = load_config(
        R50,
        [
            "train.lr=0.01",
            "model.padding=zeros",
            "data.scale_range=[0.75, 1.5]",
            "train.resume=auto",
            "model.aspp_pool_size=64",
            "train.channels_last=true",
            "run_name=123",
            "train.weight_decay=5e-4",
        ],
    )
    assert cfg.train.lr == 0.01 and isinstance(cfg.train.lr, float)
    assert cfg.model.padding == "zeros" and cfg.data.scale_range == (0.75, 1.5)
    assert (
        cfg.train.resume == "auto"
        and cfg.model.aspp_pool_size == 64
        and cfg.train.channels_last is True
    )
    assert cfg.run_name == "123" and cfg.train.weight_decay == 5e-4
    assert load_config(R50, ["model.aspp_pool_size=null"]).model.aspp_pool_size is None


@pytest.mark.parametrize("override, words", [
    ("train.lrr=0.1", ["unknown key 'train.lrr'", "did you mean 'train.lr'"]),
    ("trian.lr=0.1", ["unknown key 'trian'", "did you mean 'train'"]),
    ("model.paddng=zeros", ["did you mean 'model.padding'"]),
    ("resume=auto", ["unknown key 'resume'", "did you mean 'train.resume'"]),
    ("train.iterations=1.5", ["'train.iterations' must be an integer", "1.5"]),
    ("train.iterations=many", ["'train.iterations' must be an integer", "many"]),
    ("train.channels_last=2", ["'train.channels_last' must be true/false"]),
    ("data.scale_range=[0.5]", ["'data.scale_range' must be a list [a number, a number]"]),
    ("train.amp=fp8", ["'train.amp' must be one of", "bf16"]),
    ("train.lr", ["not key=value"]),
])
def test_bad_overrides_name_the_key_and_the_fix(override, words):
    with pytest.raises(ConfigError) as err:
        load_config(R50, [override])
    for word in words:
        assert word in str(err.value)


def test_bad_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name: deeplabv3plus_small\n  num_clases: 19\n")
    with pytest.raises(
        ConfigError,
        match=r"bad.yaml: unknown key 'model.num_clases' — did you mean 'model.num_classes'",
    ):
        load_config(bad)
    bad.write_text("train: [1, 2]\n")
    with pytest.raises(ConfigError, match="'train' must be a mapping"):
        load_config(bad)
    bad.write_text("train: {lr: [}\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_yaml_exponents_without_dot_are_numbers(tmp_path):
    path = tmp_path / "lr.yaml"
    path.write_text("train:\n  lr: 3e-2\n")  # PyYAML alone reads this as the string "3e-2"
    assert yaml.safe_load(path.read_text())["train"]["lr"] == "3e-2"
    assert load_config(path).train.lr == 0.03


def test_dict_round_trip_through_yaml():
    cfg = load_config(R50, ["data.scale_range=[0.75, 1.25]"])
    raw = yaml.safe_load(yaml.safe_dump(config_to_dict(cfg)))
    assert raw["data"]["scale_range"] == [0.75, 1.25]
    assert config_from_dict(raw) == cfg
    assert config_from_dict({}) == Config()
