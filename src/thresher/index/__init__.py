"""The persistent index: check new crawls against everything kept before."""
