"""Sensor-stream path: stream sensor -> cursor-range runs -> sensor_readings, stats, anomalies;
a schedule refreshes smoothing, forecasts and charts."""
