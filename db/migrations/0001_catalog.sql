-- The product catalogue: resource types, product blocks, products, fixed inputs and the
-- workflows attached to products. Synchronised from code at start-up.

CREATE TABLE resource_types (
    resource_type_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    resource_type    text NOT NULL UNIQUE CHECK (length(resource_type) BETWEEN 1 AND 255),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    create_time      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_blocks (
    product_block_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    tag              text NOT NULL DEFAULT '' CHECK (length(tag) <= 20),
    status           text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'pre production', 'phase out', 'end of life')),
    create_time      timestamptz NOT NULL DEFAULT now(),
    end_time         timestamptz
);

-- The scalar fields of a block.
CREATE TABLE product_block_resource_types (
    product_block_id uuid NOT NULL REFERENCES product_blocks ON DELETE CASCADE,
    resource_type_id uuid NOT NULL REFERENCES resource_types ON DELETE RESTRICT,
    field_type       text NOT NULL DEFAULT 'string',
    required         boolean NOT NULL DEFAULT false,
    is_list          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (product_block_id, resource_type_id)
);

-- Block -> child block, under an attribute name, with cardinality.
CREATE TABLE product_block_relations (
    parent_id     uuid NOT NULL REFERENCES product_blocks ON DELETE CASCADE,
    attribute     text NOT NULL,
    child_id      uuid NOT NULL REFERENCES product_blocks ON DELETE RESTRICT,
    min_count     integer NOT NULL CHECK (min_count >= 0),
    max_count     integer NOT NULL CHECK (max_count >= 1 AND max_count >= min_count),
    foreign_owned boolean NOT NULL DEFAULT false,
    PRIMARY KEY (parent_id, attribute)
);
CREATE INDEX product_block_relations_child ON product_block_relations (child_id);

CREATE TABLE products (
    product_id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                   text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
    description            text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    product_type           text NOT NULL,
    tag                    text NOT NULL CHECK (length(tag) <= 20),
    status                 text NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'pre production', 'phase out', 'end of life')),
    root_product_block_id  uuid NOT NULL REFERENCES product_blocks ON DELETE RESTRICT,
    create_time            timestamptz NOT NULL DEFAULT now(),
    end_time               timestamptz
);
CREATE INDEX products_tag ON products (tag);
CREATE INDEX products_product_type ON products (product_type);

CREATE TABLE fixed_inputs (
    fixed_input_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id     uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    name           text NOT NULL,
    value          text NOT NULL,
    create_time    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, name)
);

CREATE TABLE workflows (
    workflow_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
    target       text NOT NULL
                 CHECK (target IN ('CREATE', 'MODIFY', 'TERMINATE', 'VALIDATE', 'RECONCILE', 'SYSTEM')),
    description  text NOT NULL DEFAULT '',
    is_task      boolean NOT NULL DEFAULT false,
    create_time  timestamptz NOT NULL DEFAULT now(),
    delete_time  timestamptz
);

CREATE TABLE products_workflows (
    product_id  uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    workflow_id uuid NOT NULL REFERENCES workflows ON DELETE CASCADE,
    PRIMARY KEY (product_id, workflow_id)
);
CREATE INDEX products_workflows_workflow ON products_workflows (workflow_id);
