import json

import pytest

# 40 COCO-style captions over 32 images (some images have two), with the parts of speech,
# punctuation and multi-word COCO classes the builders must handle.
CAPTIONS = [
    "A man riding a horse on a sandy beach.",
    "Two dogs trying to catch a frisbee in the park",
    "A hot dog and a cell phone on a wooden table.",
    "A black cat sleeping on a red couch",
    "A large pizza with cheese and tomatoes on a plate.",
    "A red car parked next to a tall building",
    "A woman is holding an umbrella while she walks in the rain.",
    "Three people are sitting at a table eating pizza.",
    "A small dog is running quickly across the grass",
    "A bus driving down a busy street in New York.",
    "An elephant and a giraffe standing near a tree",
    "A plate of food with broccoli and carrots, next to a fork.",
    "A boy throws a ball to his dog.",
    "The kitchen has a white refrigerator and an oven",
    "A cat is sitting on top of a laptop keyboard.",
    "A young girl eating a slice of pizza slowly",
    "Two zebras grazing in a field of grass.",
    "A man on a skateboard does a trick, while people watch.",
    "A bowl of fruit with bananas, apples and oranges",
    "A train is traveling through the green countryside.",
    "A teddy bear sitting on a bed next to a pillow",
    "Someone is cutting a cake with a knife.",
    "A person holding a tennis racket on a court",
    "Cars and trucks are stopped at a traffic light.",
    "A dog looks out of the window of a car",
    "A little boy and his father are flying a kite.",
    "Several sheep are standing in a very green pasture",
    "A cow does not want to leave the wooden fence.",
    "Pizza slices are sitting on a table because nobody ate them.",
    "A woman sits on a bench, reading a book in Paris",
    "A clock tower stands tall over the city of Rome.",
    "Two cats are lying together on a couch",
    "A man is trying to surf a big wave in Hawaii.",
    "Bicycles are parked in a row along the sidewalk",
    "A sandwich and a cup of coffee on the counter.",
    "A black and white dog is catching a frisbee if it can",
    "Birds are flying over the ocean at sunset.",
    "A motorcycle is parked on the side of the road",
    "Here is a bathroom with a toilet and a sink.",
    "Four horses eat hay in London while it rains",
]
IMAGES = [1000 + (i if i < 32 else i - 32) for i in range(len(CAPTIONS))]  # 8 images captioned twice


def write_coco(path, captions=CAPTIONS, images=IMAGES):
    data = {
        "info": {"description": "synthetic"},
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 64, "height": 64} for i in sorted(set(images))],
        "annotations": [
            {"id": 500 + k, "image_id": img, "caption": text} for k, (img, text) in enumerate(zip(images, captions))
        ],
    }
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="session")
def nlp():
    """spaCy, loaded once per test session (every builder shares this cached pipeline)."""
    from benchmark.splits.base import SplitOptions
    from benchmark.splits.nlp import load_spacy

    return load_spacy(SplitOptions().spacy_model)


@pytest.fixture(scope="session")
def coco_captions(tmp_path_factory, nlp):
    return write_coco(tmp_path_factory.mktemp("coco") / "captions_synthetic.json")


@pytest.fixture(scope="session")
def build(coco_captions):
    """build(name, **options) -> items, each distinct build made once per session."""
    from benchmark.splits import SplitOptions, build_split

    cache = {}

    def _build(name, **options):
        key = (name, tuple(sorted(options.items())))
        if key not in cache:
            options.setdefault("coco_captions", coco_captions)
            cache[key] = build_split(name, SplitOptions(**options))
        return cache[key]

    return _build
