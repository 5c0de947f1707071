/* The per-resource handlers the routing table points at; one file each.
 * A device kind's handlers are its own (devices/kind.h), not here. */
#pragma once

#include "api/router.h"

/* instance.c: GET / and GET /version */
void api_instance_info_apply(struct api_controller *c, struct api_action *a);
int api_version_parse(struct api_action *a);

/* cpu_config.c */
int api_cpu_config_parse(struct api_action *a);
void api_cpu_config_apply(struct api_controller *c, struct api_action *a);

/* machine_config.c */
int api_machine_config_put_parse(struct api_action *a);
int api_machine_config_patch_parse(struct api_action *a);
void api_machine_config_get_apply(struct api_controller *c, struct api_action *a);
void api_machine_config_put_apply(struct api_controller *c, struct api_action *a);
void api_machine_config_patch_apply(struct api_controller *c, struct api_action *a);

/* boot_source.c */
int api_boot_source_put_parse(struct api_action *a);
void api_boot_source_put_apply(struct api_controller *c, struct api_action *a);

/* actions.c: PUT /actions */
int api_actions_parse(struct api_action *a);
void api_actions_apply(struct api_controller *c, struct api_action *a);

/* logger.c, metrics.c */
int api_logger_parse(struct api_action *a);
void api_logger_apply(struct api_controller *c, struct api_action *a);
int api_metrics_parse(struct api_action *a);
void api_metrics_apply(struct api_controller *c, struct api_action *a);

/* mmds.c */
void api_mmds_get_apply(struct api_controller *c, struct api_action *a);
void api_mmds_put_apply(struct api_controller *c, struct api_action *a);
void api_mmds_patch_apply(struct api_controller *c, struct api_action *a);
int api_mmds_config_parse(struct api_action *a);
void api_mmds_config_apply(struct api_controller *c, struct api_action *a);

/* vm.c: PATCH /vm, GET /vm/config */
int api_vm_state_parse(struct api_action *a);
void api_vm_state_apply(struct api_controller *c, struct api_action *a);
void api_vm_config_apply(struct api_controller *c, struct api_action *a);

/* snapshot.c: PUT /snapshot/create and PUT /snapshot/load */
int api_snapshot_create_parse(struct api_action *a);
void api_snapshot_create_apply(struct api_controller *c, struct api_action *a);
int api_snapshot_load_parse(struct api_action *a);
void api_snapshot_load_apply(struct api_controller *c, struct api_action *a);
