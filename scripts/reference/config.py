"""Model sizes: BiomedCLIP's real open_clip_config.json, the tiny test config, and parsing of both.

Test models extend open_clip_config.json with explicit sizes: open_clip's own names for the vision tower
(width, layers, head_width, mlp_ratio, patch_size, image_size) and HF BertConfig names under
text_cfg.hf_model_config for the text tower. Without them the sizes are ViT-B/16 and BERT-base.
"""
import copy
from dataclasses import dataclass

@dataclass
class VisionConfig:
    image_size: int = 224
    patch_size: int = 16
    width: int = 768
    layers: int = 12
    head_width: int = 64
    mlp_ratio: float = 4.0
    # timm's ViT builds its LayerNorms with partial(nn.LayerNorm, eps=1e-6), not torch's default 1e-5.
    eps: float = 1e-6

    @property
    def heads(self):
        return self.width // self.head_width

    @property
    def grid(self):
        return self.image_size // self.patch_size


@dataclass
class TextConfig:
    # BertConfig defaults of microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract.
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    vocab_size: int = 30522
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    context_length: int = 256


@dataclass
class ClipConfig:
    embed_dim: int
    vision: VisionConfig
    text: TextConfig

    @property
    def proj_hidden(self):
        # open_clip's hf_proj_type "mlp": hidden = (d_model + output_dim) // 2, i.e. 640 for 768 -> 512.
        return (self.text.hidden_size + self.embed_dim) // 2


def config_from_json(cfg):
    """Parses open_clip_config.json; explicit width/layers/hf_model_config fields override the base sizes."""
    m = cfg["model_cfg"]
    v, t = m["vision_cfg"], m["text_cfg"]
    vision = VisionConfig()
    for key in ("image_size", "patch_size", "width", "layers", "head_width", "mlp_ratio"):
        if key in v:
            setattr(vision, key, v[key])
    text = TextConfig(context_length=t.get("context_length", 256))
    for key, value in (t.get("hf_model_config") or {}).items():
        if hasattr(text, key):
            setattr(text, key, value)
    return ClipConfig(embed_dim=m["embed_dim"], vision=vision, text=text)



# The real config published with microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224 (same content as
# ../shared/data/model-files/open_clip_config.json), so the full-size reference does not depend on that folder.
FULL_CONFIG = {
    "model_cfg": {
        "embed_dim": 512,
        "vision_cfg": {
            "timm_model_name": "vit_base_patch16_224",
            "timm_model_pretrained": False,
            "timm_pool": "",
            "timm_proj": "linear",
            "image_size": 224,
        },
        "text_cfg": {
            "hf_model_name": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract",
            "hf_tokenizer_name": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract",
            "hf_proj_type": "mlp",
            "hf_pooler_type": "cls_last_hidden_state_pooler",
            "context_length": 256,
        },
    },
    "preprocess_cfg": {
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
    },
}

# The tiny test model: 64 px images in 16 px patches give 16 patches + CLS = 17 image tokens.
TINY_CONFIG = {
    "model_cfg": {
        "embed_dim": 16,
        "vision_cfg": {
            "timm_model_name": "vit_base_patch16_224",
            "timm_pool": "",
            "timm_proj": "linear",
            "image_size": 64,
            "patch_size": 16,
            "width": 32,
            "layers": 2,
            "head_width": 16,
            "mlp_ratio": 4,
        },
        "text_cfg": {
            "hf_model_name": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract",
            "hf_proj_type": "mlp",
            "hf_pooler_type": "cls_last_hidden_state_pooler",
            "context_length": 256,
            "hf_model_config": {
                "hidden_size": 32,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "intermediate_size": 128,
                "vocab_size": 1024,
                "max_position_embeddings": 512,
                "type_vocab_size": 2,
                "layer_norm_eps": 1e-12,
            },
        },
    },
    "preprocess_cfg": copy.deepcopy(FULL_CONFIG["preprocess_cfg"]),
}

CONFIGS = {"full": FULL_CONFIG, "tiny": TINY_CONFIG}
