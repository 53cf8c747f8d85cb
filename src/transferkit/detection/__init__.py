"""Object detection by transfer: box-labelled data readers, torchvision detectors over pretrained backbones."""
