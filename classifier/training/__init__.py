"""Everything that needs TensorFlow or the dataset: data, augmentation, backbone port, model builders,
training, evaluation, export, insights and reports.

The runtime (``classifier`` itself) never imports this package; this package imports the runtime
(decoding, face crops, calibration) so that training sees exactly what inference sees. Importing
the package loads nothing heavy: each module imports TensorFlow/Keras only where it needs them.
"""
