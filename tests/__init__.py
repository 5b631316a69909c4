"""The test package. A child that multiprocessing spawns imports it first: under `--clock` it
takes the parent's clock here, before the test module it runs is imported."""

from tests.support.frozen_clock import follow_parent_clock

follow_parent_clock()
