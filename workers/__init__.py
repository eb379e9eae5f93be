"""RQ jobs of the hotline: module-level functions that take ids, enqueued through `hotline.queues`."""
