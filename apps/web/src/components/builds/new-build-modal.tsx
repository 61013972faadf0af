'use client';
import type { TargetId } from '@binfleet/arch-table';
import {
  Alert,
  FileInput,
  Modal,
  Progress,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
} from '@mantine/core';
import { IconAlertTriangle, IconUpload } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { TargetPicker } from '../actions/target-picker.tsx';
import { RepositorySelect, repositoryOptions } from '../catalogue/repository-select.tsx';
import { useTRPC } from '../trpc/client.ts';
import { formatBytes } from '../ui/copy-line.tsx';
import { FormActions } from '../ui/form-actions.tsx';
import { uploadPackage } from './upload-package.ts';

type PackageSource = 'path' | 'upload';

/** Admins: a build of every tag of the scheme from a QEMU package on a builder host. */
export function NewBuildModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const builders = useQuery(trpc.builds.builders.queryOptions(undefined, { enabled: opened }));
  const registries = useQuery(trpc.registries.list.queryOptions(undefined, { enabled: opened }));
  const [hostId, setHostId] = useState<string | null>(null);
  const [repositoryId, setRepositoryId] = useState<string | null>(null);
  const [source, setSource] = useState<PackageSource>('path');
  const [packagePath, setPackagePath] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [uploadedId, setUploadedId] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const uploads = useQuery(
    trpc.builds.packages.queryOptions(undefined, { enabled: opened && source === 'upload' }),
  );
  const [targets, setTargets] = useState<TargetId[]>([]);
  const [testImage, setTestImage] = useState('');
  const [skipChecks, setSkipChecks] = useState(false);
  const start = useMutation(
    trpc.builds.start.mutationOptions({
      onSuccess: ({ id }) => {
        void queryClient.invalidateQueries({ queryKey: trpc.builds.pathKey() });
        onClose();
        router.push(`/builds/${id}`);
      },
    }),
  );
  const uploading = progress !== null;
  const packageChosen = source === 'path' ? packagePath.trim() !== '' : file !== null || uploadedId !== null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!hostId || !repositoryId) return;
    let packageId = uploadedId;
    if (source === 'upload' && file) {
      setUploadError(null);
      setProgress(0);
      try {
        packageId = (await uploadPackage(file, setProgress)).id;
        void queryClient.invalidateQueries({ queryKey: trpc.builds.packages.queryKey() });
        // Kept picked: a failed start does not upload the file again.
        setFile(null);
        setUploadedId(packageId);
      } catch (error) {
        setUploadError((error as Error).message);
        return;
      } finally {
        setProgress(null);
      }
    }
    start.mutate({
      hostId,
      repositoryId,
      ...(source === 'upload' && packageId ? { packageId } : { packagePath: packagePath.trim() }),
      ...(targets.length ? { targets } : {}),
      ...(testImage.trim() ? { testImage: testImage.trim() } : {}),
      ...(skipChecks ? { skipChecks } : {}),
    });
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New build" size="lg">
      <form onSubmit={(e) => void submit(e)}>
        <Stack>
          <Select
            label="Builder host"
            description="an agent with dockerd; it builds, tests and pushes"
            placeholder={builders.isPending ? 'Loading…' : 'Pick a host'}
            data={(builders.data ?? []).map((h) => ({
              value: h.id,
              label: `${h.hostname} (${h.arch ?? '?'}, docker ${h.dockerVersion})${h.online ? '' : ' · offline'}`,
              disabled: !h.online,
            }))}
            value={hostId}
            onChange={setHostId}
            nothingFoundMessage="No host with dockerd has joined"
            required
            data-testid="build-host"
          />
          <SegmentedControl
            aria-label="Where the package comes from"
            value={source}
            onChange={(v) => setSource(v as PackageSource)}
            data={[
              { value: 'path', label: 'File on the builder' },
              { value: 'upload', label: 'Upload a .deb' },
            ]}
            data-testid="build-package-source"
          />
          {source === 'path' ? (
            <TextInput
              label="Path of the .deb on the builder"
              description="an absolute path on the builder host, not on this computer (to send a file from here, choose Upload a .deb)"
              placeholder="/var/cache/binfleet/qemu-user-static_7.2+dfsg-7_amd64.deb"
              value={packagePath}
              onChange={(e) => setPackagePath(e.currentTarget.value)}
              required
              data-testid="build-package"
            />
          ) : (
            <>
              <FileInput
                label="Upload a .deb"
                description="a qemu-user-static package for any host architecture; it is sent to the builder before the build"
                placeholder="Choose a file"
                accept=".deb,application/vnd.debian.binary-package"
                leftSection={<IconUpload size={16} />}
                value={file}
                onChange={(f) => {
                  setFile(f);
                  if (f) setUploadedId(null);
                }}
                clearable
                disabled={uploading}
                data-testid="build-package-file"
              />
              <Select
                label="Or an earlier upload"
                placeholder={uploads.isPending ? 'Loading…' : 'Pick an uploaded package'}
                data={(uploads.data ?? []).map((p) => ({
                  value: p.id,
                  label: `${p.filename} · ${p.version} (${p.architecture}) · ${formatBytes(p.size)}`,
                }))}
                value={uploadedId}
                onChange={(id) => {
                  setUploadedId(id);
                  if (id) setFile(null);
                }}
                nothingFoundMessage="Nothing uploaded yet"
                clearable
                disabled={uploading}
                data-testid="build-package-uploaded"
              />
              {uploading && (
                <Stack gap={4}>
                  <Text size="sm">Uploading {Math.round(progress * 100)}%</Text>
                  <Progress
                    value={progress * 100}
                    aria-label="Upload progress"
                    data-testid="build-upload-progress"
                  />
                </Stack>
              )}
              {uploadError && (
                <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />}>
                  {uploadError}
                </Alert>
              )}
            </>
          )}
          <RepositorySelect
            label="Push to"
            placeholder="Pick a repository"
            data={repositoryOptions(registries.data)}
            value={repositoryId}
            onChange={setRepositoryId}
            nothingFoundMessage="Add a registry and repository on the Catalogue page first"
            required
            data-testid="build-repository"
          />
          <TargetPicker
            label="Emulators"
            description="leave empty for every emulator in the package"
            placeholder="all"
            value={targets}
            onChange={setTargets}
          />
          <TextInput
            label="Test image"
            description="a foreign image on the builder for the container checks (default: the agent's --verify-image)"
            placeholder="arm64v8/busybox"
            value={testImage}
            onChange={(e) => setTestImage(e.currentTarget.value)}
          />
          <Switch
            label="Skip the seed's checks (only for a package this builder cannot run)"
            checked={skipChecks}
            onChange={(e) => setSkipChecks(e.currentTarget.checked)}
          />
          <FormActions
            mutation={start}
            submitLabel="Start build"
            onCancel={onClose}
            loading={start.isPending || uploading}
            disabled={!hostId || !repositoryId || !packageChosen}
          />
        </Stack>
      </form>
    </Modal>
  );
}
