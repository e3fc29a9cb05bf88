"""MMStudio: a desktop studio for multimodal deep learning."""

__version__ = "0.1.0"
APP_ID = "io.github.mmstudio.MMStudio"
