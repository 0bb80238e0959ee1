"""Pseudo-labels from RGB: 2D keypoints from cameras, lifted to 3D, in the radar frame.

``detectors`` (the detector call shape, the simulated detector, TorchScript/ONNX top-down models),
``landmarker`` (mediapipe's pose landmarker from the user's ``.task`` file, optional),
``tracks`` (association, left/right swap repair, resampling), ``lift`` (LiDAR depth, stereo
triangulation, bone-length prior, sequence refinement), ``run`` (a recording → labels),
``report`` (quality numbers, files, overlays).
"""
