"""Writes kubeconform's JSON schemas for the custom resources of CRD files, the way
kubeconform's openapi2jsonschema.py does (strict: an object that lists its properties
allows no others, unless the CRD says it preserves unknown fields):

  crd-schemas.py OUT_DIR CRD.yaml...   -> OUT_DIR/<group>/<kind>_<version>.json

kubeconform then finds them with
  -schema-location 'OUT_DIR/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'
"""

import json
import os
import sys

import yaml


def strict(schema):
    """additionalProperties: false wherever properties are listed and nothing else is said."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: strict(value) for key, value in schema.items()}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        schema["additionalProperties"] = False
    return schema


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    written = 0
    for path in sys.argv[2:]:
        with open(path) as handle:
            for document in yaml.safe_load_all(handle):
                if not document or document.get("kind") != "CustomResourceDefinition":
                    continue
                spec = document["spec"]
                group, kind = spec["group"], spec["names"]["kind"].lower()
                for version in spec["versions"]:
                    schema = version.get("schema", {}).get("openAPIV3Schema")
                    if schema is None:
                        continue
                    os.makedirs(os.path.join(out_dir, group), exist_ok=True)
                    target = os.path.join(out_dir, group, f"{kind}_{version['name']}.json")
                    with open(target, "w") as handle_out:
                        json.dump(strict(schema), handle_out, indent=1, sort_keys=True)
                    written += 1
    if written == 0:
        print("crd-schemas: no CustomResourceDefinition with a schema in the files given",
              file=sys.stderr)
        return 1
    print(f"crd-schemas: {written} schemas into {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
