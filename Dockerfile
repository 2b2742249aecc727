# One image for every worker of the container pools (prefect.docker.yaml; docs/service.md, "Containers").
#
#   docker build -t seqconv .                      # CPU: TensorFlow's own wheel
#   docker build -t seqconv-gpu --build-arg GPU=1 .  # GPU: adds the gpu extra (the NVIDIA libraries as wheels);
#                                                  # the host needs the driver and the NVIDIA container toolkit
# BASE_IMAGE: any Debian-like image with Python 3.11 and its venv module (the tests build on a local one made by
# scripts/base_image.sh, since they reach no image registry). No CUDA base image: TensorFlow's and-cuda wheels bring
# CUDA and cuDNN.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ARG GPU=0

# The code lives where a Prefect pull step finds it (prefect.docker.yaml: set_working_directory); the tasks find
# datasets/ and profiles/ beside it, as in a checkout. Anything a run writes goes to the mounted data and artifacts
# folders; the rest to /tmp, so a container may run as any uid (the owner of those folders).
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/seqconv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_HOME=/tmp/prefect \
    MPLCONFIGDIR=/tmp/matplotlib \
    KERAS_HOME=/tmp/keras \
    TF_CPP_MIN_LOG_LEVEL=2 \
    GX_ANALYTICS_ENABLED=false \
    PREFECT_SERVER_ANALYTICS_ENABLED=false
WORKDIR /opt/seqconv

# Dependencies first, in their own layer: rebuilt only when pyproject.toml or constraints.txt change, not the code.
COPY pyproject.toml constraints.txt ./
RUN python3 -m venv /opt/venv \
 && python3 -c "import os, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + (p['optional-dependencies']['gpu'] if os.environ['GPU'] == '1' else [])))" \
      > /tmp/requirements.txt \
 && pip install --no-compile -c constraints.txt -r /tmp/requirements.txt \
 && rm -f /tmp/requirements.txt \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && useradd --uid 1000 --user-group --no-create-home --home-dir /tmp seqconv

COPY flows/ flows/
COPY tasks/ tasks/
COPY datasets/ datasets/
COPY profiles/ profiles/
COPY prefect.toml ./
# `seqconv` as the checkout's console script has it, without installing the code a second time
RUN printf '#!/opt/venv/bin/python\nimport sys\nfrom flows.cli import main\nsys.exit(main())\n' > /opt/venv/bin/seqconv \
 && chmod 755 /opt/venv/bin/seqconv

# a uid without an entry in /etc/passwd (the owner of the mounted folders) gets HOME=/ from Docker: /tmp instead
ENV HOME=/tmp
USER seqconv
CMD ["seqconv", "doctor"]
