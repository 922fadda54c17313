"""The demo: a simulated campaign month run through the real pipeline. Above the pipeline;
never imported by the core."""
