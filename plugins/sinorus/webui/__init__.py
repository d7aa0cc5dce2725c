"""The analysts' pages served inside the Airflow UI: events, one event, timeline, feed health."""
